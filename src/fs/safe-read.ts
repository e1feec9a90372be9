/**
 * How every reader of a run (show, validate, report, diff, replay, loadRun)
 * opens a file it was pointed at: never blocking (a FIFO or a device is
 * refused before it is read), never without bound, and, when a run
 * directory is given, never outside it (a symlink that leads out is refused).
 * Each refusal is one line naming the file.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, realpathSync, type Stats } from "node:fs";
import { isAbsolute, relative, sep } from "node:path";
import { StagetraceError } from "../errors.js";

/** The largest file a reader takes (256 MiB): a manifest of 100,000 files is about 50 MB. */
export const MAX_READ_BYTES = 256 * 1024 * 1024;

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  return "not a regular file";
}

/** True when `path` is `dir` or inside it, both already resolved. */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** True when `path` exists and, symlinks followed, is inside `dir` (a reader may open it). */
export function existsInside(dir: string, path: string): boolean {
  try {
    return isInside(realpathSync(dir), realpathSync(path));
  } catch {
    return false;
  }
}

export interface SafeReadOptions {
  /** Refuse the file unless it (after following symlinks) is inside this directory. */
  inside?: string;
  /** Refuse files larger than this many bytes (default MAX_READ_BYTES). */
  maxBytes?: number;
}

/**
 * Reads `path` as UTF-8 text, or throws a StagetraceError (code
 * `UNREADABLE`) with one line: the path and why (missing, a FIFO, too
 * large, outside the run...).
 */
export function readFileSafely(path: string, options: SafeReadOptions = {}): string {
  const max = options.maxBytes ?? MAX_READ_BYTES;
  if (options.inside !== undefined) {
    let real: string;
    let base: string;
    try {
      real = realpathSync(path);
      base = realpathSync(options.inside);
    } catch (err) {
      throw unreadable(path, err);
    }
    if (!isInside(base, real)) {
      throw new StagetraceError("UNREADABLE", `${path}: leads to ${real}, outside the run directory ${base}; not read`);
    }
  }
  let fd: number;
  try {
    // Non-blocking: opening a FIFO with no writer would otherwise wait forever.
    fd = openSync(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw unreadable(path, err);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new StagetraceError("UNREADABLE", `${path}: is ${kindOf(stats)}; not read`);
    if (stats.size > max)
      throw new StagetraceError("UNREADABLE", `${path}: ${stats.size} bytes, more than the ${max} a reader takes; not read`);
    // The file may grow while it is read: never more than max + 1 bytes.
    const buf = Buffer.allocUnsafe(Math.min(max + 1, Math.max(stats.size, 64 * 1024)));
    let n = 0;
    for (;;) {
      if (n === buf.length) break;
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > max) throw new StagetraceError("UNREADABLE", `${path}: grew past ${max} bytes while it was read; not read`);
    return buf.toString("utf8", 0, n);
  } catch (err) {
    if (err instanceof StagetraceError) throw err;
    throw unreadable(path, err);
  } finally {
    closeSync(fd);
  }
}

function unreadable(path: string, err: unknown): StagetraceError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === "ENOENT" ? "no such file" : `${e.code ?? "error"}: ${e.message}`;
  return new StagetraceError("UNREADABLE", `cannot read ${path} (${why})`, { cause: err });
}

/** Parses `text` (read from `path`) as JSON, or throws one line naming the file. */
export function parseJsonSafely(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // Node's message quotes the start of the text; a line of a file that is not JSON says enough without it.
    const message = (err as Error).message.replace(/, "[\s\S]*" is not valid JSON$/, " (not JSON)");
    throw new StagetraceError("INVALID_JSON", `${path} is not valid JSON: ${message.split("\n")[0]}`, { cause: err });
  }
}
