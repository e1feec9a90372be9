import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { StagetraceError } from "../errors.js";
import { errnoText } from "./errno-text.js";
import { randomHex } from "../random-hex.js";

let counter = 0;
// Processes on other hosts (or in other pid namespaces) that share a run directory can have the same pid.
let processTag: string | undefined;

/**
 * The mode of every file stagetrace creates (manifests, logs, pipeline.json,
 * run state): readable by its owner and group, never by everyone, since a
 * log may quote what a stage was given. The umask can only make it stricter.
 */
export const FILE_MODE = 0o640;

/**
 * Writes `text` to `path` so that a reader sees the old file or the new one,
 * never half of one: the text goes to a sibling temp file first and is then
 * renamed over the target (rename is atomic within a file system). `text`
 * may come in pieces, written one after another as they are produced.
 */
export function writeFileAtomic(path: string, text: string | Iterable<string>): void {
  processTag ??= `${process.pid}.${randomHex(3)}`;
  const tmp = `${path}.${processTag}.${++counter}.tmp`;
  try {
    const fd = openTemp(tmp);
    try {
      writeText(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // No temp file to remove (its directory cannot even be reached): the first error is the one to report.
    }
    throw new StagetraceError(
      "IO_ERROR",
      `could not write ${path} (${errnoText(err)}); check that ${dirname(path)} exists, is writable and has free space`,
      { cause: err },
    );
  }
}

/**
 * Creates the temp file. Its directory nearly always exists (a stage writes its manifests and its lease into
 * the directory it made), so the file is opened first; only when that fails is the directory made, as every
 * write once did before it opened, and the open tried again: a missing directory is made, and any other
 * problem is met and reported as it was.
 */
function openTemp(tmp: string): number {
  // "wx": a fresh file, never one (or a symlink) someone put at the temp name.
  try {
    return openSync(tmp, "wx", FILE_MODE);
  } catch {
    mkdirSync(dirname(tmp), { recursive: true });
    return openSync(tmp, "wx", FILE_MODE);
  }
}

function writeText(fd: number, text: string | Iterable<string>): void {
  for (const piece of typeof text === "string" ? [text] : text) {
    // A string is written without a Buffer made of it first; a short write (rare on a
    // regular file) goes on from where it stopped, in bytes.
    const written = writeSync(fd, piece);
    if (written === Buffer.byteLength(piece)) continue;
    const rest = Buffer.from(piece, "utf8").subarray(written);
    for (let done = 0; done < rest.length;) done += writeSync(fd, rest, done);
  }
}
