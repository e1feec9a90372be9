import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { StagetraceError } from "../errors.js";

let counter = 0;

/** `ENOSPC: no space left on device, write` (Node's message already starts with the code). */
export function errnoText(e: NodeJS.ErrnoException): string {
  if (!e.code) return e.message;
  return e.message.startsWith(`${e.code}:`) ? e.message : `${e.code}: ${e.message}`;
}

/**
 * Writes `text` to `path` so that a reader sees the old file or the new one,
 * never half of one: the text goes to a sibling temp file first and is then
 * renamed over the target (rename is atomic within a file system).
 */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${++counter}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // No temp file to remove (its directory cannot even be reached): the first error is the one to report.
    }
    const e = err as NodeJS.ErrnoException;
    throw new StagetraceError(
      "IO_ERROR",
      `could not write ${path} (${errnoText(e)}); check that ${dirname(path)} exists, is writable and has free space`,
      { cause: err },
    );
  }
}
