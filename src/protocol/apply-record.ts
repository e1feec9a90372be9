import { isAbsolute, join } from "node:path";
import { isUri } from "../fs/uri.js";
import { CommandOutputLogger, OutputFailure, type LineLogger } from "../log/command-output.js";
import type { StageIO } from "../stage/stage-io.js";
import { parseStageRecord, type StageRecord } from "./stage-record.js";

/** Most records that add to the span (files, warnings, errors, config) one stage takes; later ones are counted, not kept. */
export const MAX_SPAN_RECORDS = 1_000_000;
/** Most protocol problems reported one by one; the rest are counted in one warning. */
const MAX_PROBLEMS = 100;

/** The status a stage reported for itself, with its reason. */
export interface ReportedStatus {
  status: "success" | "failed" | "skipped";
  reason?: string;
}

/** An Error carrying what a record says of an exception, so StageIO records it as it records a thrown one. */
function exceptionOf(record: Extract<StageRecord, { record: "error" }>): Error | undefined {
  const x = record.exception;
  if (!x) return undefined;
  const err = new Error(x.message ?? record.message);
  err.name = x.type || "Error";
  // An Error always has a stack; a record without one must not get exec's.
  err.stack = x.stack ?? "";
  return err;
}

/** Keys of a stage log line that the stage logger writes itself: a `log` record's `fields` cannot replace them. */
const LINE_KEYS = new Set(["level", "time", "pid", "hostname", "msg", "stage", "stage_number", "trace_id", "span_id", "trace_flags"]);

/** A `log` record's fields without the keys its line already has. */
function ownFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (fields === undefined) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (!LINE_KEYS.has(k)) out[k] = v;
  return out;
}

/** What records are applied to: a StageIO, or the stage object of a client of the run's agent, which passes them on. */
export type RecordTarget = Pick<
  StageIO,
  | "stageDir"
  | "trackInput"
  | "trackOutput"
  | "trackIntermediate"
  | "setConfig"
  | "addWarning"
  | "addError"
  | "setResources"
  | "rememberSecret"
  | "writeClientLine"
>;

/**
 * Turns protocol records into the calls a TypeScript stage makes on its
 * StageIO, so the span, manifest and logs of a stage in any language are
 * the same. One sink per stage; `stagetrace exec` owns one today, and a
 * `stagetrace run` that hosts its stages would own one per stage.
 */
export class RecordSink {
  /** The last status record, if any. */
  reported: ReportedStatus | undefined;
  /** How many error records came in. */
  errors = 0;
  /** The first line of the last log record at ERROR or above: a reason for a stage that failed without giving one. */
  lastErrorLog: string | undefined;
  /** Where the loggers of `stdio` records note how the output says the client failed; the client reports its own errors, so nothing reads it. */
  private readonly outputFailure = new OutputFailure();
  private readonly stdio: Partial<Record<"stdout" | "stderr", CommandOutputLogger>> = {};
  private spanRecords = 0;
  private droppedRecords = 0;
  private problems = 0;

  constructor(
    private readonly io: RecordTarget,
    private readonly log: LineLogger,
    /** Where a record's log line with `console: true` is echoed (exec's stderr: the terminal). */
    private readonly console: ((line: string) => void) | null = null,
  ) {}

  /** One line of the records channel. */
  line(text: string): void {
    const parsed = parseStageRecord(text);
    if ("problem" in parsed) this.problem(`malformed record ignored: ${parsed.problem}`);
    else this.apply(parsed.record);
  }

  /** A problem with the channel itself (an oversized record, an unreadable file): a warning, never a crash. */
  problem(message: string): void {
    this.problems++;
    if (this.problems <= MAX_PROBLEMS) this.io.addWarning(`stage protocol: ${message}`);
  }

  apply(r: StageRecord): void {
    if (r.record === "log") {
      this.log[r.level]({ ...ownFields(r.fields), ...(r.logger === undefined ? {} : { logger: r.logger }) }, r.message);
      if (r.level === "error" || r.level === "fatal") this.lastErrorLog = r.message.split("\n", 1)[0];
      if (r.console) this.console?.(`${r.level.toUpperCase()} ${r.logger ? `${r.logger}: ` : ""}${r.message}\n`);
      return;
    }
    if (r.record === "line") {
      this.io.writeClientLine(r.line, r.level);
      return;
    }
    if (r.record === "secret") {
      this.io.rememberSecret(r.value);
      return;
    }
    if (r.record === "stdio") {
      // The client's own stdout and stderr, logged line by line as exec logs a command's.
      (this.stdio[r.stream] ??= new CommandOutputLogger(this.log, r.stream, this.outputFailure)).write(r.text);
      return;
    }
    if (r.record === "begin" || r.record === "end") {
      // Only a stage's file in the agent's spool begins and ends the stage (src/agent/); here the stage is exec's.
      this.problem(`${r.record} record ignored: only a stage's file in the run's agent spool has one`);
      return;
    }
    if (r.record === "status") {
      this.reported = r.reason === undefined ? { status: r.status } : { status: r.status, reason: r.reason };
      return;
    }
    if (++this.spanRecords > MAX_SPAN_RECORDS) {
      this.droppedRecords++;
      return;
    }
    const io = this.io;
    const path = "path" in r ? (isAbsolute(r.path) || isUri(r.path) ? r.path : join(io.stageDir, r.path)) : "";
    const options = "hash" in r && r.hash === false ? { hash: false } : {};
    switch (r.record) {
      case "input":
        io.trackInput(path, r.file_type ?? "file", r.metadata ?? {}, options);
        break;
      case "output":
        io.trackOutput(path, r.file_type ?? "file", r.metadata ?? {}, options);
        break;
      case "intermediate":
        io.trackIntermediate(path, {
          retained: r.retained ?? false,
          reason: r.reason ?? "",
          ...(r.file_type === undefined ? {} : { type: r.file_type }),
          ...options,
        });
        break;
      case "config":
        io.setConfig(r.values);
        break;
      case "warning":
        io.addWarning(r.message);
        break;
      case "error":
        this.errors++;
        io.addError(r.message, exceptionOf(r));
        break;
      case "resources":
        io.setResources(r.values);
        break;
    }
  }

  /** Before the stage is finalized: logs what is left of the client's output, and says what was counted instead of kept. */
  end(): void {
    this.stdio.stdout?.end();
    this.stdio.stderr?.end();
    if (this.problems > MAX_PROBLEMS)
      this.io.addWarning(`stage protocol: ${this.problems - MAX_PROBLEMS} more problems with records not listed`);
    if (this.droppedRecords > 0) {
      this.io.addWarning(`stage protocol: ${this.droppedRecords} records over the limit of ${MAX_SPAN_RECORDS} per stage were dropped`);
    }
  }
}
