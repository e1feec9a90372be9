/**
 * An error as one short phrase for a message: `ENOSPC: no space left on
 * device, write`. Node's fs messages already start with the code, so it is
 * added only when missing; anything that is not an Error is stringified.
 */
export function errnoText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  if (!code) return err.message;
  return err.message.startsWith(`${code}:`) ? err.message : `${code}: ${err.message}`;
}
