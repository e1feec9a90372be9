import { constants as osConstants } from "node:os";

/** The exit code a shell reports for a process ended by `signal`: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + ((osConstants.signals as Record<string, number>)[signal] ?? 0);
}

/**
 * Ends this process by `signal` (its default action), as the command it
 * wrapped ended, so the calling shell sees the same death. Returns only when
 * that cannot happen (Node ignores SIGPIPE, say); the caller then exits with
 * `signalExitCode(signal)`.
 */
export function dieBy(signal: NodeJS.Signals): void {
  process.removeAllListeners(signal);
  try {
    process.kill(process.pid, signal);
  } catch {
    // Not a signal this platform can send; the exit code says it instead.
  }
}
