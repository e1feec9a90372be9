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
  | { record: "log"; level: LogLevel; message: string; logger?: string; console?: boolean };

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
      );
      if (problem === null) o.level = level;
      break;
    }
    default:
      return { problem: `unknown record ${JSON.stringify(kind)}` };
  }
  return problem === null ? { record: o as unknown as StageRecord } : { problem: `${String(kind)} record: ${problem}` };
}
