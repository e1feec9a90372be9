/**
 * The stage protocol (docs/protocol.md, schema/stage-record.schema.json): the
 * records a command run by `stagetrace exec` reports about itself, one JSON
 * object per line, in any language. This file only parses; apply-record.ts
 * turns a record into the StageIO calls a TypeScript stage makes.
 */

/** The protocol version this stagetrace reads and writes (`"v"` of every record). */
export const PROTOCOL_VERSION = 1;

/** The variable that names the records file of the running stage. */
export { RECORDS_ENV } from "../config/stagetrace-settings.js";

/** The variable that names the agent's spool directory, under `stagetrace run` (docs/protocol.md, "The agent channel"). */
export { AGENT_ENV } from "../config/stagetrace-settings.js";

/**
 * Longest record in a stage's file in the agent's spool: a TypeScript stage's
 * log line or config is as long as the stage makes it, and the client is a
 * stagetrace of the same run, not a command that may write anything.
 */
export const MAX_AGENT_RECORD_BYTES = 64 * 1024 * 1024;

/** Longest record (one line, in bytes) exec accepts; a longer one is dropped with a warning. */
export const MAX_RECORD_BYTES = 256 * 1024;

export type LogLevel = "debug" | "info" | "warn" | "error" | "fatal";

export type StageRecord =
  | { record: "input" | "output"; path: string; file_type?: string; metadata?: Record<string, unknown>; hash?: boolean }
  | { record: "intermediate"; path: string; file_type?: string; retained?: boolean; reason?: string; hash?: boolean }
  | { record: "config"; values: Record<string, unknown> }
  | { record: "warning"; message: string }
  | { record: "error"; message: string; exception?: { type?: string; message?: string; stack?: string } }
  | { record: "resources"; values: Record<string, unknown> }
  | { record: "status"; status: "success" | "failed" | "skipped"; reason?: string }
  | { record: "log"; level: LogLevel; message: string; logger?: string; console?: boolean; fields?: Record<string, unknown> }
  | { record: "line"; level: number; line: string }
  | { record: "secret"; value: string }
  | { record: "stdio"; stream: "stdout" | "stderr"; text: string }
  | BeginRecord
  | EndRecord;

/** The first record of a stage's file in the agent's spool: who the stage is and the ids it chose. */
export interface BeginRecord {
  record: "begin";
  stage: string;
  /** The stage process: its pid, host and command line (recorded as the stage's, not the agent's). */
  pid: number;
  host?: string;
  argv?: string[];
  /** From `stagetrace exec`: the command it runs (secrets censored), the span's `process.command_args`. */
  command?: string[];
  /** Start time, epoch milliseconds. */
  start: number;
  /** The ids of the stage span, chosen by the client. */
  trace_id: string;
  span_id: string;
  /** The parent span (W3C `traceparent`, in the same trace), when the stage has one. */
  traceparent?: string;
  tracestate?: string;
  /** Where the stage is, as the client resolved it. */
  run_dir: string;
  stage_number?: number | null;
  stages?: string[] | null;
  pipeline_name?: string;
  enable_manifest?: boolean;
  strict?: boolean;
  hash_algorithm?: string;
  /** The client's `STAGETRACE_*` and `OUTPUT_DIR` variables, which shape the stage (log level, console, hash...). */
  env?: Record<string, string>;
  /** Whether the client's stderr is a terminal (the console default). */
  stderr_tty?: boolean;
  /**
   * The client process's `host.*` and `process.*` resource attributes
   * (strings, numbers, booleans, lists of strings): the stage's span, log
   * records and heartbeats get the resource the client would have given
   * them, with `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME` from `env`.
   */
  resource?: Record<string, string | number | boolean | string[]>;
}

/** The last record of a stage's file in the agent's spool: how and when it ended, and what it used. */
export interface EndRecord {
  record: "end";
  /** End time, epoch milliseconds. */
  end: number;
  status?: "success" | "failed" | "skipped" | "interrupted";
  reason?: string;
  /** The client's own resource figures (`cpu_user_ms`, `cpu_system_ms`, `peak_rss_mb`). */
  resources?: Record<string, number>;
  /**
   * The exit code the client process exits with, when it ended at exit; from
   * `stagetrace exec`, its command's exit code. Recorded as `process.exit.code`.
   */
  exit_code?: number;
  /** From `stagetrace exec`: the signal that ended its command (`SIGKILL`), recorded as `stagetrace.process.signal`. */
  signal?: string;
  /** finalize()'s extra fields. */
  extra?: Record<string, unknown>;
  save_manifest?: boolean;
  /** Ended at once (a signal, a crash, process.exit()): files still being hashed are recorded without a hash. */
  at_once?: boolean;
  /** With `at_once`: when, in words ("the process exited"). */
  when?: string;
}

const LEVELS: Record<string, LogLevel> = {
  trace: "debug",
  debug: "debug",
  info: "info",
  notice: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
  critical: "fatal",
  fatal: "fatal",
};

const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;
const SPAN_ID = /^(?!0{16})[0-9a-f]{16}$/;
const TRACEPARENT = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

function isResourceValue(v: unknown): boolean {
  return (
    typeof v === "string" ||
    typeof v === "boolean" ||
    (typeof v === "number" && Number.isFinite(v)) ||
    (Array.isArray(v) && v.every((x) => typeof x === "string"))
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function optionalString(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v === undefined || typeof v === "string") return null;
  return `"${key}" must be a string`;
}

/** A parsed record, or the reason the line is not one (which exec records as a warning). */
export function parseStageRecord(line: string): { record: StageRecord } | { problem: string } {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    return { problem: `not JSON (${(e as Error).message})` };
  }
  if (!isObject(o)) return { problem: "not a JSON object" };
  if (o.v !== PROTOCOL_VERSION)
    return { problem: `unsupported protocol version ${JSON.stringify(o.v)} (this stagetrace reads "v": ${PROTOCOL_VERSION})` };
  const kind = o.record;
  const check = (...problems: (string | null)[]) => problems.find((p) => p !== null) ?? null;
  let problem: string | null;
  switch (kind) {
    case "input":
    case "output":
    case "intermediate":
      problem = check(
        typeof o.path === "string" && o.path !== "" ? null : `"path" must be a non-empty string`,
        optionalString(o, "file_type"),
        o.metadata === undefined || isObject(o.metadata) ? null : `"metadata" must be an object`,
        o.retained === undefined || typeof o.retained === "boolean" ? null : `"retained" must be true or false`,
        optionalString(o, "reason"),
        o.hash === undefined || typeof o.hash === "boolean" ? null : `"hash" must be true or false`,
      );
      break;
    case "config":
    case "resources":
      problem = isObject(o.values) ? null : `"values" must be an object`;
      break;
    case "warning":
      problem = typeof o.message === "string" ? null : `"message" must be a string`;
      break;
    case "error":
      problem = check(
        typeof o.message === "string" ? null : `"message" must be a string`,
        o.exception === undefined || isObject(o.exception) ? null : `"exception" must be an object`,
        ...(isObject(o.exception)
          ? ["type", "message", "stack"].map((k) => optionalString(o.exception as Record<string, unknown>, k))
          : []),
      );
      break;
    case "status":
      problem = check(
        o.status === "success" || o.status === "failed" || o.status === "skipped" ? null : `"status" must be success, failed or skipped`,
        optionalString(o, "reason"),
      );
      break;
    case "log": {
      const level = typeof o.level === "string" ? LEVELS[o.level.toLowerCase()] : undefined;
      problem = check(
        level ? null : `unknown log level ${JSON.stringify(o.level)}`,
        typeof o.message === "string" ? null : `"message" must be a string`,
        optionalString(o, "logger"),
        o.fields === undefined || isObject(o.fields) ? null : `"fields" must be an object`,
      );
      if (problem === null) o.level = level;
      break;
    }
    case "line":
      problem = check(
        Number.isInteger(o.level) ? null : `"level" must be a pino level number`,
        typeof o.line === "string" && o.line.endsWith("\n") ? null : `"line" must be a string ending in a newline`,
      );
      break;
    case "secret":
      problem = typeof o.value === "string" ? null : `"value" must be a string`;
      break;
    case "stdio":
      problem = check(
        o.stream === "stdout" || o.stream === "stderr" ? null : `"stream" must be stdout or stderr`,
        typeof o.text === "string" ? null : `"text" must be a string`,
      );
      break;
    case "begin":
      problem = check(
        typeof o.stage === "string" && o.stage !== "" ? null : `"stage" must be a non-empty string`,
        Number.isInteger(o.pid) ? null : `"pid" must be a whole number`,
        typeof o.start === "number" && Number.isFinite(o.start) ? null : `"start" must be epoch milliseconds`,
        typeof o.trace_id === "string" && TRACE_ID.test(o.trace_id) ? null : `"trace_id" must be 32 lower-case hex digits, not all 0`,
        typeof o.span_id === "string" && SPAN_ID.test(o.span_id) ? null : `"span_id" must be 16 lower-case hex digits, not all 0`,
        o.traceparent === undefined || (typeof o.traceparent === "string" && TRACEPARENT.test(o.traceparent))
          ? null
          : `"traceparent" must be a W3C traceparent`,
        optionalString(o, "tracestate"),
        typeof o.run_dir === "string" && o.run_dir !== "" ? null : `"run_dir" must be a non-empty string`,
        o.stage_number === undefined || o.stage_number === null || Number.isInteger(o.stage_number)
          ? null
          : `"stage_number" must be a whole number or null`,
        o.stages === undefined || o.stages === null || (Array.isArray(o.stages) && o.stages.every((x) => typeof x === "string"))
          ? null
          : `"stages" must be a list of names or null`,
        ...["argv", "command"].map((k) =>
          o[k] === undefined || (Array.isArray(o[k]) && (o[k] as unknown[]).every((x) => typeof x === "string"))
            ? null
            : `"${k}" must be a list of strings`,
        ),
        optionalString(o, "host"),
        optionalString(o, "pipeline_name"),
        optionalString(o, "hash_algorithm"),
        ...["enable_manifest", "strict", "stderr_tty"].map((k) =>
          o[k] === undefined || typeof o[k] === "boolean" ? null : `"${k}" must be true or false`,
        ),
        o.env === undefined || (isObject(o.env) && Object.values(o.env).every((x) => typeof x === "string"))
          ? null
          : `"env" must be an object of strings`,
        o.resource === undefined || (isObject(o.resource) && Object.values(o.resource).every(isResourceValue))
          ? null
          : `"resource" must be an object of strings, numbers, booleans or lists of strings`,
      );
      break;
    case "end":
      problem = check(
        typeof o.end === "number" && Number.isFinite(o.end) ? null : `"end" must be epoch milliseconds`,
        o.status === undefined || ["success", "failed", "skipped", "interrupted"].includes(o.status as string)
          ? null
          : `"status" must be success, failed, skipped or interrupted`,
        optionalString(o, "reason"),
        optionalString(o, "when"),
        o.signal === undefined || (typeof o.signal === "string" && /^SIG[A-Z0-9]+$/.test(o.signal))
          ? null
          : `"signal" must be a signal name (SIGTERM)`,
        o.resources === undefined || (isObject(o.resources) && Object.values(o.resources).every((x) => typeof x === "number"))
          ? null
          : `"resources" must be an object of numbers`,
        o.exit_code === undefined || Number.isInteger(o.exit_code) ? null : `"exit_code" must be a whole number`,
        o.extra === undefined || isObject(o.extra) ? null : `"extra" must be an object`,
        ...["save_manifest", "at_once"].map((k) =>
          o[k] === undefined || typeof o[k] === "boolean" ? null : `"${k}" must be true or false`,
        ),
      );
      break;
    default:
      return { problem: `unknown record ${JSON.stringify(kind)}` };
  }
  return problem === null ? { record: o as unknown as StageRecord } : { problem: `${String(kind)} record: ${problem}` };
}
