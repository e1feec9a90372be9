import * as crypto from "node:crypto";
import { createHash, getHashes } from "node:crypto";
import { closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readFileSync, readSync, statSync, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { basename, join } from "node:path";
import { StagetraceError } from "../errors.js";
import { writeFileAtomic } from "./atomic-write.js";
import { errnoText } from "./errno-text.js";
import { isUri, URI_SCHEME } from "./uri.js";
import type { FileKind } from "../types.js";

/**
 * How a regular file was when it was hashed: enough to tell later, without
 * reading it, that it has not changed since (see `FINGERPRINT_INDEX_FILE`).
 */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  /** Modification and status-change times in milliseconds, with the file system's sub-millisecond part. */
  mtimeMs: number;
  ctimeMs: number;
}

/** What stagetrace knows about a file at the moment it was tracked. */
export interface FileFingerprint {
  path: string;
  name: string;
  kind: FileKind;
  exists: boolean;
  size: number | null;
  modified: string | null;
  hash: string | null;
  hashAlgorithm: string | null;
  /** Set when the file could not be read completely; becomes a warning. */
  problem?: string;
  /** Set for a regular file whose hash is known: what the hash belongs to. */
  identity?: FileIdentity;
  /** True when the hash came from the stage that wrote the file instead of being computed again. */
  reused?: boolean;
}

// Below this size a synchronous read + hash costs a few microseconds, far less
// than one round trip through the thread pool, so it is done inline.
const INLINE_HASH_LIMIT = 1 << 20;
// One-shot hashing (Node 20.12+) skips the Hash object, a good part of the
// cost of hashing a small file.
const hashOnce = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: "hex") => string }).hash;

// Large enough that per-read overhead is noise, small enough that hashing one
// chunk (about 3 ms at 1.3 GB/s) never stalls the event loop noticeably.
// Reads run in the thread pool while the previous chunk is hashed, so a large
// file hashes as fast as a synchronous loop without blocking the event loop.
const CHUNK_SIZE = 4 << 20;

/** Checks a hash option (`sha256`, `sha512`, `md5`, ..., or `none`) and normalises it. */
export function resolveHashAlgorithm(name: string | undefined, source: string): string {
  const algo = (name ?? "sha256").trim().toLowerCase();
  if (algo === "none" || getHashes().includes(algo)) return algo;
  throw new StagetraceError(
    "INVALID_OPTION",
    `${source}: unknown hash algorithm "${name}"; use "none" or one of node:crypto's (e.g. sha256, sha512, sha1, md5)`,
  );
}

function kindOf(stats: Stats): FileKind {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "directory";
  if (stats.isFIFO()) return "fifo";
  if (stats.isSocket()) return "socket";
  if (stats.isSymbolicLink()) return "symlink";
  return "other";
}

function missing(path: string, problem?: string): FileFingerprint {
  return {
    path,
    name: basename(path),
    kind: "missing",
    exists: false,
    size: null,
    modified: null,
    hash: null,
    hashAlgorithm: null,
    ...(problem ? { problem } : {}),
  };
}

export { isUri };

/**
 * The record of a URI: kind `uri`, its last path segment as its name, and
 * nothing measured (stagetrace does not fetch it). Pass it with its
 * credentials already censored.
 */
export function uriFingerprint(uri: string): FileFingerprint {
  const rest = uri.replace(URI_SCHEME, "").replace(/[?#].*$/s, "");
  const segments = rest.split("/").filter((s) => s !== "");
  return {
    path: uri,
    name: segments.length > 1 ? segments[segments.length - 1]! : (segments[0] ?? uri),
    kind: "uri",
    exists: true,
    size: null,
    modified: null,
    hash: null,
    hashAlgorithm: null,
  };
}

let cachedSecond = Number.NaN;
let cachedPrefix = "";

/**
 * `stats.mtime.toISOString()` without a Date per call: files tracked together
 * mostly share their second, so its text is made once and the milliseconds
 * appended (`toISOString` costs about 0.4 µs, a tenth of tracking a small file).
 * @internal
 */
export function isoTimestamp(ms: number): string {
  const t = Math.round(ms); // as Node rounds a Stats time into its Date
  const second = Math.floor(t / 1000);
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, -4); // "2026-01-02T03:04:05."; throws on NaN as Date does
    cachedSecond = second;
  }
  const milli = t - second * 1000;
  return cachedPrefix + (milli < 10 ? "00" : milli < 100 ? "0" : "") + milli + "Z";
}

/** What a stat says of an existing path, before any hashing. */
function described(path: string, kind: FileKind, stats: Stats): FileFingerprint {
  return {
    path,
    name: basename(path),
    kind,
    exists: true,
    size: stats.isFile() ? stats.size : null,
    modified: isoTimestamp(stats.mtimeMs),
    hash: null,
    hashAlgorithm: null,
  };
}

function identityOf(stats: Stats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
}

// Files are opened non-blocking: a path replaced by a FIFO after it was
// stat'ed then opens at once (and is refused below) instead of blocking a
// thread, and with it the process's exit, until a writer appears.
const READ_NONBLOCK = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0);

/** The fingerprint of a path that is no longer a regular file when it is opened to be hashed. */
function notAFileAnymore(base: FileFingerprint, stats: Stats): FileFingerprint {
  const kind = kindOf(stats);
  return { ...base, kind, size: null, problem: `${base.path} became a ${kind} while it was being hashed; it was not read` };
}

/** Where `fingerprint` may find a hash computed earlier for the same, unchanged file. */
export interface FingerprintOptions {
  /** The directory of the stage that wrote the file, whose fingerprint index is consulted. */
  producerDir?: string | null;
  /** The indexes to consult for `producerDir`. */
  index?: FingerprintIndex;
  /** Keep the file's identity on the fingerprint, for this stage's own fingerprint index (outputs, intermediates). */
  keepIdentity?: boolean;
}

/**
 * Fingerprints `path`: returns at once for missing files, directories,
 * FIFOs, small files and files whose hash the producing stage recorded, and
 * a promise for other large files, whose hash is computed without blocking
 * the event loop. `algorithm` `"none"` records size and mtime only.
 */
export function fingerprint(path: string, algorithm: string, options: FingerprintOptions = {}): FileFingerprint | Promise<FileFingerprint> {
  // A file from another stage of the run is first looked up in that stage's
  // index, which needs only a stat; everything else is opened straight away.
  if (algorithm !== "none" && OPEN_NOFOLLOW !== undefined && !options.producerDir) {
    const fast = fingerprintOpened(path, algorithm, options);
    if (fast !== null) return fast;
  }
  let link: Stats;
  try {
    link = lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return missing(path, code === "ENOENT" ? undefined : `could not stat ${path} (${errnoText(err)})`);
  }
  let stats = link;
  if (link.isSymbolicLink()) {
    try {
      stats = statSync(path);
    } catch {
      return { ...missing(path, `${path} is a symlink whose target does not exist`), kind: "symlink", exists: true };
    }
  }
  const base = described(path, kindOf(link), stats);
  // Never open FIFOs, sockets or devices: a read could block forever.
  if (!stats.isFile() || algorithm === "none") return base;
  if (options.keepIdentity) base.identity = identityOf(stats);
  if (options.producerDir && options.index) {
    const hash = options.index.lookup(options.producerDir, path, stats, algorithm); // a Stats is a FileIdentity
    if (hash !== null) {
      base.hash = hash;
      base.hashAlgorithm = algorithm;
      base.reused = true;
      return base;
    }
  }
  if (stats.size <= INLINE_HASH_LIMIT) return hashInline(base, algorithm);
  return hashInChunks(base, algorithm);
}

// Opening without following symlinks tells, in one call, that the path is
// not a symlink; fstat on the descriptor then says what was opened. For the
// common case, a small regular file, that saves the separate lstat.
const OPEN_NOFOLLOW = fsConstants.O_NOFOLLOW === undefined ? undefined : READ_NONBLOCK | fsConstants.O_NOFOLLOW;

/**
 * The fingerprint of a small regular file read through one descriptor, or
 * null when the path is anything else (missing, a symlink, a directory, a
 * large file...), for the general path to handle.
 */
function fingerprintOpened(path: string, algorithm: string, options: FingerprintOptions): FileFingerprint | null {
  let fd: number;
  try {
    fd = openSync(path, OPEN_NOFOLLOW!);
  } catch {
    return null;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size > INLINE_HASH_LIMIT) return null;
    const base = described(path, "file", stats);
    if (options.keepIdentity) base.identity = identityOf(stats);
    try {
      return hashOpenFile(base, algorithm, fd);
    } catch (err) {
      return hashFailure(base, err);
    }
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function hashInline(base: FileFingerprint, algorithm: string): FileFingerprint {
  let fd: number | undefined;
  try {
    fd = openSync(base.path, READ_NONBLOCK);
    const opened = fstatSync(fd);
    if (!opened.isFile()) return notAFileAnymore(base, opened);
    return hashOpenFile(base, algorithm, fd);
  } catch (err) {
    return hashFailure(base, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Hashes the regular file open on `fd`, whose size `base.size` says. */
function hashOpenFile(base: FileFingerprint, algorithm: string, fd: number): FileFingerprint {
  if (hashOnce === undefined) return hashRest(base, algorithm, fd, createHash(algorithm), 0);
  const expected = base.size ?? 0;
  const buf = Buffer.allocUnsafe(Math.max(1, expected) + 1);
  // The usual case: one read returns the whole file, one byte short of what was asked.
  const n = readSync(fd, buf, 0, buf.length, null);
  if (n === expected) return finishHash(base, n, hashOnce(algorithm, buf.subarray(0, n), "hex"), algorithm);
  const hash = createHash(algorithm);
  hash.update(buf.subarray(0, n));
  if (n === 0) return finishHash(base, 0, hash.digest("hex"), algorithm);
  return hashRest(base, algorithm, fd, hash, n);
}

// The rest of a small file (or all of it) read in a loop: the file's size
// changed since it was stat'ed, or the file system returned a short read.
function hashRest(base: FileFingerprint, algorithm: string, fd: number, hash: crypto.Hash, total: number): FileFingerprint {
  const expected = base.size ?? 0;
  const buf = Buffer.allocUnsafe(Math.max(1, expected) + 1);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
    total += n;
    if (total > INLINE_HASH_LIMIT) return hashInChunksSyncFallback(base, algorithm, fd, hash, total);
    // One byte more than the file's size was asked for: a short read that
    // ends exactly at that size is the end of the file, so the read that
    // would return 0 is not needed.
    if (n < buf.length && total === expected) break;
  }
  return finishHash(base, total, hash.digest("hex"), algorithm);
}

function finishHash(base: FileFingerprint, size: number, hash: string, algorithm: string): FileFingerprint {
  // A file that changed size while it was read is not the one `identity` describes.
  if (base.identity && base.identity.size !== size) delete base.identity;
  base.size = size;
  base.hash = hash;
  base.hashAlgorithm = algorithm;
  return base;
}

// The file grew between stat and read: finish it the same way, synchronously; it is rare.
function hashInChunksSyncFallback(
  base: FileFingerprint,
  algorithm: string,
  fd: number,
  hash: ReturnType<typeof createHash>,
  total: number,
): FileFingerprint {
  const buf = Buffer.allocUnsafe(CHUNK_SIZE);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
    total += n;
  }
  return finishHash(base, total, hash.digest("hex"), algorithm);
}

function hashFailure(base: FileFingerprint, err: unknown): FileFingerprint {
  delete base.identity;
  if ((err as NodeJS.ErrnoException).code === "ENOENT") {
    return missing(base.path, `${base.path} vanished while it was being hashed`);
  }
  return { ...base, problem: `could not read ${base.path} to hash it (${errnoText(err)})` };
}

async function hashInChunks(base: FileFingerprint, algorithm: string): Promise<FileFingerprint> {
  let handle;
  try {
    handle = await open(base.path, READ_NONBLOCK);
    const opened = await handle.stat();
    if (!opened.isFile()) return notAFileAnymore(base, opened);
    const hash = createHash(algorithm);
    const buffers = [Buffer.allocUnsafe(CHUNK_SIZE), Buffer.allocUnsafe(CHUNK_SIZE)];
    let which = 0;
    let total = 0;
    // Double buffering: the next read runs in the thread pool while this chunk is hashed.
    let pending = handle.read(buffers[0]!, 0, CHUNK_SIZE, 0);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const current = buffers[which]!;
      total += bytesRead;
      which ^= 1;
      pending = handle.read(buffers[which]!, 0, CHUNK_SIZE, total);
      hash.update(current.subarray(0, bytesRead));
    }
    return finishHash(base, total, hash.digest("hex"), algorithm);
  } catch (err) {
    return hashFailure(base, err);
  } finally {
    await handle?.close();
  }
}

/** The same as `fingerprint`, but always synchronous (the seed-style `StageManifest` API). */
export function fingerprintSync(path: string, algorithm: string): FileFingerprint {
  const result = fingerprint(path, "none") as FileFingerprint; // "none" never returns a promise
  // size is only set when the path (or a symlink's target) is a regular file
  return result.size === null || algorithm === "none" ? result : hashInline(result, algorithm);
}

/**
 * The file in a stage directory that lets later stages reuse the hashes of
 * the files this stage wrote. One entry per hashed output or intermediate:
 * `[path, size, mtimeMs, ctimeMs, ino, dev, algorithm, hash]`.
 *
 * A later stage (in this process or another) that tracks one of those files
 * takes the recorded hash instead of reading the file when the file is
 * unchanged: the same path, device and inode, the same size, and the same
 * modification and status-change times to the file system's full precision.
 * Writing to a file, truncating it, replacing it (a new inode) or even
 * `touch`ing it changes one of these, so the file is hashed again. What this
 * cannot see is a rewrite that keeps the size and lands within the same
 * file-system timestamp tick (a few milliseconds) after the producing stage
 * read the file; `STAGETRACE_REUSE_HASHES=off` makes every stage hash every
 * file itself.
 */
export const FINGERPRINT_INDEX_FILE = ".stagetrace-fingerprints.json";

type IndexEntry = [path: string, size: number, mtimeMs: number, ctimeMs: number, ino: number, dev: number, algorithm: string, hash: string];

interface IndexFile {
  version: 1;
  files: IndexEntry[];
}

/**
 * The fingerprint indexes one process has read or written, one per stage
 * directory, each read at most once. Telemetry owns the instance its stages
 * share, so a new telemetry starts with nothing cached.
 */
export class FingerprintIndex {
  private readonly cache = new Map<string, Map<string, IndexEntry> | null>();

  /** The hash `stageDir` recorded for `path` if the file is still exactly as it was, else null. */
  lookup(stageDir: string, path: string, now: FileIdentity, algorithm: string): string | null {
    let entries = this.cache.get(stageDir);
    if (entries === undefined) {
      entries = this.read(stageDir);
      this.cache.set(stageDir, entries);
    }
    const e = entries?.get(path);
    if (
      e === undefined ||
      e[1] !== now.size ||
      e[2] !== now.mtimeMs ||
      e[3] !== now.ctimeMs ||
      e[4] !== now.ino ||
      e[5] !== now.dev ||
      e[6] !== algorithm
    ) {
      return null;
    }
    return e[7];
  }

  private read(stageDir: string): Map<string, IndexEntry> | null {
    let data: IndexFile;
    try {
      data = JSON.parse(readFileSync(join(stageDir, FINGERPRINT_INDEX_FILE), "utf8")) as IndexFile;
    } catch {
      return null; // none written (yet), or unreadable: the files are hashed
    }
    if (data?.version !== 1 || !Array.isArray(data.files)) return null;
    const map = new Map<string, IndexEntry>();
    for (const e of data.files) {
      if (Array.isArray(e) && e.length === 8 && typeof e[0] === "string" && typeof e[7] === "string") map.set(e[0], e);
    }
    return map;
  }

  /**
   * Writes `stageDir`'s index from the fingerprints of the files the stage
   * wrote (only those hashed, with a known identity). Replaces an earlier
   * index of the same directory, in this process's cache too.
   */
  write(stageDir: string, written: readonly FileFingerprint[]): void {
    const map = new Map<string, IndexEntry>();
    for (const fp of written) {
      const id = fp.identity;
      if (!id || fp.hash === null || fp.hashAlgorithm === null || fp.problem) continue;
      map.set(fp.path, [fp.path, id.size, id.mtimeMs, id.ctimeMs, id.ino, id.dev, fp.hashAlgorithm, fp.hash]);
    }
    if (map.size === 0 && !this.cache.get(stageDir)) return;
    const file: IndexFile = { version: 1, files: [...map.values()] };
    writeFileAtomic(join(stageDir, FINGERPRINT_INDEX_FILE), JSON.stringify(file) + "\n");
    this.cache.set(stageDir, map);
  }
}
