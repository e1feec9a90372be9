/**
 * What a command's output and a client's records are logged through: the
 * stage's pino logger, or, in a `stagetrace exec` under the run's agent,
 * one that sends each call to the agent as a `log` record (the agent's pino
 * logger then writes the same line).
 */
export type LineLogger = Record<"debug" | "info" | "warn" | "error" | "fatal", (fields: Record<string, unknown>, message: string) => void>;

const LEVEL_WORD = /\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|FATAL)\b/;
const LEVEL_OF: Record<string, "debug" | "info" | "warn" | "error" | "fatal"> = {
  TRACE: "debug",
  DEBUG: "debug",
  INFO: "info",
  NOTICE: "info",
  WARN: "warn",
  WARNING: "warn",
  ERROR: "error",
  ERR: "error",
  CRITICAL: "fatal",
  FATAL: "fatal",
};
const MAX_LINE = 64 * 1024;
/** Longest traceback kept as one block; beyond it, its middle lines are counted, not kept. */
const MAX_TRACEBACK_LINES = 400;
const TRACEBACK_START = "Traceback (most recent call last):";
/** The last line of a Python traceback: `ValueError: bad input`, `module.CustomError`, `KeyboardInterrupt`. */
const EXCEPTION_LINE = /^([A-Za-z_][\w.]*)(?::\s?(.*))?$/;

/** A Python exception read from a command's output. */
export interface OutputException {
  type: string;
  message: string;
  stack: string;
}

/** What a command's output says about how it failed, for a command that knows nothing of stagetrace. */
export class OutputFailure {
  /** The last Python traceback. */
  exception: OutputException | undefined;
  /** The last line logged at ERROR or above that was not part of a traceback. */
  lastErrorLine: string | undefined;

  /** The reason a failed stage gets from its output, or undefined when it says nothing. */
  reason(): string | undefined {
    if (this.exception) return this.exception.message === "" ? this.exception.type : `${this.exception.type}: ${this.exception.message}`;
    return this.lastErrorLine;
  }
}

/** The level a line of output is logged at: a level word near its start (Python logging's formats, most tools'), else INFO. */
export function levelOfLine(line: string): "debug" | "info" | "warn" | "error" | "fatal" {
  const word = LEVEL_WORD.exec(line.slice(0, 64))?.[1];
  return word ? LEVEL_OF[word]! : "info";
}

/**
 * Splits one stream of a command's output into lines and logs each; a `\r`
 * rewrite (a progress bar) keeps only its last state. A Python traceback is
 * logged as one ERROR line holding the whole block, and remembered in
 * `failure`, with the last ERROR/CRITICAL line.
 */
export class CommandOutputLogger {
  private pending = "";
  private traceback: string[] | null = null;
  private tracebackOmitted = 0;

  constructor(
    private readonly log: LineLogger,
    private readonly stream: "stdout" | "stderr",
    private readonly failure: OutputFailure,
  ) {}

  write(chunk: string): void {
    this.pending += chunk;
    let nl: number;
    while ((nl = this.pending.indexOf("\n")) >= 0) {
      this.line(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
    }
    if (this.pending.length > MAX_LINE) {
      this.line(this.pending);
      this.pending = "";
    }
  }

  end(): void {
    if (this.pending !== "") this.line(this.pending);
    this.pending = "";
    // A traceback cut off by the end of the output is still one.
    if (this.traceback) this.endTraceback(null);
  }

  private line(raw: string): void {
    const cr = raw.replace(/\r+$/, "");
    const line = cr.slice(cr.lastIndexOf("\r") + 1);
    if (this.traceback) {
      if (line.startsWith(" ") || line.startsWith("\t") || line.trim() === "" || line.startsWith("^")) {
        if (this.traceback.length < MAX_TRACEBACK_LINES) this.traceback.push(line);
        else this.tracebackOmitted++;
        return;
      }
      this.endTraceback(EXCEPTION_LINE.exec(line) ? line : null);
      if (EXCEPTION_LINE.exec(line)) return;
    }
    if (line.trimEnd() === TRACEBACK_START) {
      this.traceback = [line];
      return;
    }
    if (line.trim() === "") return;
    const level = levelOfLine(line);
    if (level === "error" || level === "fatal") this.failure.lastErrorLine = line.trim();
    this.log[level]({ stream: this.stream }, line);
  }

  private endTraceback(last: string | null): void {
    const lines = this.traceback!;
    this.traceback = null;
    if (this.tracebackOmitted > 0) lines.push(`  ... ${this.tracebackOmitted} more lines`);
    this.tracebackOmitted = 0;
    while (lines.length > 1 && lines[lines.length - 1]!.trim() === "") lines.pop();
    if (last !== null) lines.push(last);
    const m = last === null ? null : EXCEPTION_LINE.exec(last);
    const stack = lines.join("\n");
    if (m) this.failure.exception = { type: m[1]!, message: m[2] ?? "", stack };
    this.log.error({ stream: this.stream, ...(m ? { exception_type: m[1] } : {}) }, stack);
  }
}
