// Waiting for something a real process does, by looking again until it is
// so: no sleep stands in for an event, and no figure of speed is asserted.

/**
 * Polls `check` until it returns a truthy value, and returns that value.
 * Gives up with "timed out waiting for <what>" after `timeoutMs`, a bound
 * for a clear message on a hang, not a speed the test expects.
 */
export async function until<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 60_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
