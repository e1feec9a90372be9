import { fstatSync } from "node:fs";
import { createRequire } from "node:module";

/**
 * Whether file descriptor 2 is a terminal, as `process.stderr.isTTY` says,
 * without creating `process.stderr`: that stream, like `node:tty`, loads
 * `node:net`, several milliseconds of a stage process that prints nothing.
 * A descriptor that is no character device (a pipe, a file, a socket) is no
 * terminal; only for one that is, `node:tty` decides.
 */
export function stderrIsTerminal(): boolean {
  try {
    if (!fstatSync(2).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return (createRequire(import.meta.url)("node:tty") as typeof import("node:tty")).isatty(2);
}
