import { closeSync, constants as fsConstants, mkdirSync, openSync, realpathSync, statSync, writeSync } from "node:fs";
import { StagetraceError } from "../errors.js";
import { isInside } from "../fs/safe-read.js";
import { dirname } from "node:path";
import { errnoText } from "../fs/errno-text.js";
import { FILE_MODE } from "../fs/atomic-write.js";

/** Append, create if missing, and refuse a symlink (O_NOFOLLOW, where the platform has it). */
const APPEND_FLAGS = fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | (fsConstants.O_NOFOLLOW ?? 0);

/** How long a written line may sit in memory before it reaches the file. */
export const LOG_FLUSH_INTERVAL_MS = 100;
// One write per 64 KiB: large enough that syscalls are not the cost, small
// enough that a burst of lines does not sit in memory.
const FLUSH_BYTES = 64 * 1024;

/** An append-only log file: lines are buffered briefly and written whole. */
export interface LogFile {
  readonly path: string;
  /** True when the file could not be opened and its lines go to stderr. */
  readonly fallback: boolean;
  /** Why lines are missing from the file (its open or a write failed, with path and errno), or null. */
  readonly problem: string | null;
  write(line: string): void;
  flush(): void;
}

class AppendFile implements LogFile {
  readonly fallback = false;
  problem: string | null = null;
  private pending = "";

  constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly warn: (m: string) => void,
  ) {}

  write(line: string): void {
    this.pending += line;
    if (this.pending.length >= FLUSH_BYTES) this.flush();
  }

  /**
   * Writes what is buffered in one `write(2)` on an O_APPEND descriptor: the
   * kernel places it at the end of the file as a unit, so lines written by
   * other processes to the same pipeline log never land inside ours.
   */
  flush(): void {
    if (this.pending === "") return;
    let data = Buffer.from(this.pending, "utf8");
    this.pending = "";
    try {
      while (data.length > 0) {
        const n = writeSync(this.fd, data);
        data = data.subarray(n);
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (this.problem === null) {
        this.problem = `writing ${this.path} failed (${errnoText(e)}); lines are missing from it`;
        this.warn(`${this.problem}. Free disk space or fix the file's permissions; the stage goes on.`);
      }
    }
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

class StderrFallback implements LogFile {
  readonly fallback = true;
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {}
  write(line: string): void {
    process.stderr.write(line);
  }
  flush(): void {}
}

/**
 * The log files this process writes, one buffer per path (stages in one
 * process share the pipeline log's). Buffers are written every 100 ms, when
 * a stage finalizes, and synchronously when the process exits, so a crash or
 * `kill -9` loses at most the last 100 ms of lines.
 */
/** Opens a log for appending; a symlink at `path` is followed only into `runDir` or to a character device. */
function openLog(path: string, runDir: string | undefined): number {
  try {
    return openSync(path, APPEND_FLAGS, FILE_MODE);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      // Its directory is missing: made only now, since it is there for nearly every log and a mkdir is a system call.
      mkdirSync(dirname(path), { recursive: true });
      return openSync(path, APPEND_FLAGS, FILE_MODE);
    }
    if (code !== "ELOOP") throw err;
  }
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new StagetraceError("INVALID_PATH", `${path} is a symlink to nothing; not written through`);
  }
  const device = statSync(real).isCharacterDevice();
  if (!device && (runDir === undefined || !isInside(realpathSync(runDir), real))) {
    throw new StagetraceError("INVALID_PATH", `${path} is a symlink to ${real}, outside the run directory; not written through`);
  }
  return openSync(real, fsConstants.O_WRONLY | fsConstants.O_APPEND, FILE_MODE);
}

export class LogFiles {
  private readonly files = new Map<string, LogFile>();
  private timer: NodeJS.Timeout | undefined;
  private readonly onExit = () => this.flushAll();

  constructor(private readonly warn: (message: string) => void) {}

  /**
   * The log file at `path`, opened once. `runDir`, when given, is the only
   * place a symlink at `path` may lead to (a character device such as
   * /dev/null aside): a log is never written through a symlink to anywhere else.
   */
  open(path: string, runDir?: string): LogFile {
    let file = this.files.get(path);
    if (!file) {
      file = this.create(path, runDir);
      this.files.set(path, file);
      if (!this.timer) {
        this.timer = setInterval(() => this.flushAll(), LOG_FLUSH_INTERVAL_MS).unref();
        process.on("exit", this.onExit);
      }
    }
    return file;
  }

  private create(path: string, runDir: string | undefined): LogFile {
    try {
      return new AppendFile(path, openLog(path, runDir), this.warn);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const problem = `cannot open log file ${path} (${errnoText(e)}); its lines go to stderr instead`;
      this.warn(`${problem}. Check that ${dirname(path)} is writable (OUTPUT_DIR / outputBase) and the disk has space.`);
      return new StderrFallback(path, problem);
    }
  }

  flushAll(): void {
    for (const file of this.files.values()) file.flush();
  }

  /** The problems (open or write failures) of these files, one per file; empty when all of them are whole. */
  problemsFor(paths: readonly string[]): string[] {
    const problems: string[] = [];
    for (const path of new Set(paths)) {
      const problem = this.files.get(path)?.problem;
      if (problem) problems.push(problem);
    }
    return problems;
  }

  /** Writes what is buffered and closes every file. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    process.removeListener("exit", this.onExit);
    for (const file of this.files.values()) if (file instanceof AppendFile) file.close();
    this.files.clear();
  }
}
