import { closeSync, constants as fsConstants, openSync, readSync, unlinkSync, writeFileSync } from "node:fs";
import { MAX_RECORD_BYTES } from "./stage-record.js";

const CHUNK = 64 * 1024;
/** Most bytes read per poll, so a flood of records cannot starve the rest of the event loop. */
const MAX_BYTES_PER_POLL = 4 * 1024 * 1024;
const POLL_MS = 50;

/** Removes the file (or symlink) at `path` if there is one; unlinkSync, not rmSync, whose first call loads fs's rimraf. */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/**
 * The records channel of one stage: a file the stage's processes append to
 * (one `write` of one whole line per record on an O_APPEND descriptor), read
 * here as it grows. A file rather than a pipe: every process of the stage can
 * open it by name (a Python subprocess closes inherited descriptors), and what
 * a process wrote before it died stays in the file until it is read.
 *
 * Memory is bounded by one chunk plus one record: lines are handed on as they
 * complete, and a line longer than `MAX_RECORD_BYTES` is skipped to its end.
 */
export class RecordsFile {
  private fd: number | null;
  private position = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside a line that is over the limit: skip to its newline. */
  private skipping = false;
  private skippedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly buffer = Buffer.allocUnsafe(CHUNK);
  private readonly maxRecordBytes: number;

  /** Creates (or empties) `path`, mode 0600; with `existing`, reads the file a client created there (never through a symlink). */
  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly onProblem: (problem: string) => void,
    options: { existing?: boolean; maxRecordBytes?: number } = {},
  ) {
    this.maxRecordBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
    if (options.existing) {
      this.fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
      return;
    }
    // A fresh file: never one (or a symlink) left at that name, which could lead anywhere.
    removeFile(path);
    writeFileSync(path, "", { mode: 0o600, flag: "wx" });
    this.fd = openSync(path, "r");
  }

  /** Reads what is written, every 50 ms, until `close()`. */
  start(): void {
    this.timer = setInterval(() => this.read(MAX_BYTES_PER_POLL), POLL_MS);
  }

  /** Reads everything written so far (up to `limit` bytes). */
  read(limit = Infinity): void {
    if (this.fd === null) return;
    let total = 0;
    while (total < limit) {
      let n: number;
      try {
        n = readSync(this.fd, this.buffer, 0, CHUNK, this.position);
      } catch (e) {
        this.onProblem(`cannot read the records file ${this.path}: ${(e as Error).message}`);
        this.closeFd();
        return;
      }
      if (n === 0) return;
      this.position += n;
      total += n;
      this.take(this.buffer.subarray(0, n));
    }
  }

  private take(chunk: Buffer): void {
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(10, start)) >= 0) {
      if (this.skipping) {
        this.skipping = false;
        this.tooLong(this.skippedAt);
      } else if (this.pendingBytes + (nl - start) > this.maxRecordBytes) {
        this.tooLong(this.position - chunk.length + start - this.pendingBytes);
      } else {
        const line =
          this.pendingBytes === 0
            ? chunk.toString("utf8", start, nl)
            : Buffer.concat([...this.pending, chunk.subarray(start, nl)]).toString("utf8");
        if (line.trim() !== "") this.onLine(line);
      }
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    if (start >= chunk.length || this.skipping) return;
    const rest = chunk.length - start;
    if (this.pendingBytes + rest > this.maxRecordBytes) {
      this.skipping = true;
      this.skippedAt = this.position - chunk.length + start - this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // The chunk buffer is reused: keep a copy of the unfinished line.
    this.pending.push(Buffer.from(chunk.subarray(start)));
    this.pendingBytes += rest;
  }

  private tooLong(offset: number): void {
    this.onProblem(`a record over ${this.maxRecordBytes} bytes at byte ${offset} of the records file was dropped`);
  }

  /** Reads the rest and stops. An unfinished last line (a process died mid-write) is parsed like any other: whole JSON is kept, a torn one is a warning. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.read();
    if (this.skipping) this.tooLong(this.skippedAt);
    else if (this.pendingBytes > 0) {
      const line = Buffer.concat(this.pending).toString("utf8");
      if (line.trim() !== "") this.onLine(line);
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = false;
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already gone: nothing left to read
    }
    this.fd = null;
  }
}
