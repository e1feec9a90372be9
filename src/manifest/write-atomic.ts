import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { StagetraceError } from "../errors.js";

let counter = 0;

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
    rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    throw new StagetraceError(
      "IO_ERROR",
      `could not write ${path} (${e.code ?? "error"}: ${e.message}); check that ${dirname(path)} exists, is writable and has free space`,
      { cause: err },
    );
  }
}
