import { appendFileSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "./args.js";
import type { Command } from "./command.js";
import { PROTOCOL_VERSION, RECORDS_ENV, MAX_RECORD_BYTES } from "../protocol/stage-record.js";
import { StagetraceError } from "../errors.js";
import { stagetraceSettings } from "../config/stagetrace-settings.js";

function typedValue(value: string): string | number | boolean {
  if (/^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(value)) return Number(value);
  if (value === "true" || value === "false") return value === "true";
  return value;
}

function keyValues(pairs: readonly string[], what: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of pairs) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`${what} expects KEY=VALUE, got ${JSON.stringify(kv)}`);
    out[kv.slice(0, eq)] = typedValue(kv.slice(eq + 1));
  }
  return out;
}

export const command: Command = {
  async main(parsed, io) {
    const [kind, ...rest] = parsed.positionals;
    const reason = parsed.strings.get("reason");
    const fileFlags = parsed.strings.has("type") || parsed.lists.has("meta") || parsed.booleans.has("retained");
    let record: Record<string, unknown>;
    const one = (what: string): string => {
      if (rest.length !== 1) throw new UsageError(`track ${kind} takes one ${what}`);
      return rest[0]!;
    };
    switch (kind) {
      case "input":
      case "output":
      case "intermediate": {
        record = { record: kind, path: resolve(one("FILE")) };
        const type = parsed.strings.get("type");
        if (type !== undefined) record.file_type = type;
        if (kind === "intermediate") {
          if (parsed.lists.has("meta")) throw new UsageError("--meta is for input and output");
          record.retained = parsed.booleans.has("retained");
          record.reason = reason ?? "";
        } else {
          if (parsed.booleans.has("retained") || reason !== undefined) throw new UsageError("--retained and --reason are for intermediate");
          const meta = keyValues(parsed.lists.get("meta") ?? [], "--meta");
          if (Object.keys(meta).length > 0) record.metadata = meta;
        }
        break;
      }
      case "config":
      case "status":
      case "warning":
      case "error":
        if (fileFlags) throw new UsageError(`--type, --meta and --retained are for files, not ${kind}`);
        if (kind === "config") {
          if (rest.length === 0) throw new UsageError("track config needs KEY=VALUE");
          if (reason !== undefined) throw new UsageError("--reason is for status and intermediate");
          record = { record: "config", values: keyValues(rest, "track config") };
        } else if (kind === "status") {
          const status = one("STATUS");
          if (status !== "success" && status !== "failed" && status !== "skipped") {
            throw new UsageError(`status must be success, failed or skipped, got ${JSON.stringify(status)}`);
          }
          record = { record: "status", status, ...(reason === undefined ? {} : { reason }) };
        } else {
          if (rest.length === 0) throw new UsageError(`track ${kind} needs a MESSAGE`);
          if (reason !== undefined) throw new UsageError("--reason is for status and intermediate");
          record = { record: kind, message: rest.join(" ") };
        }
        break;
      default:
        throw new UsageError(
          kind === undefined
            ? "what to track? input, output, intermediate, config, warning, error or status"
            : `cannot track ${JSON.stringify(kind)}`,
        );
    }
    const path = stagetraceSettings(io.env).records();
    if (!path) {
      throw new StagetraceError(
        "NOT_UNDER_EXEC",
        `${RECORDS_ENV} is not set: "stagetrace track" reports to the stage around it, so run this script as a stage with "stagetrace exec --stage NAME -- COMMAND"`,
      );
    }
    const line = JSON.stringify({ v: PROTOCOL_VERSION, ...record }) + "\n";
    if (Buffer.byteLength(line) > MAX_RECORD_BYTES) throw new UsageError(`the record is over ${MAX_RECORD_BYTES} bytes`);
    try {
      // One write on an O_APPEND descriptor: whole, and after every earlier record.
      appendFileSync(path, line);
    } catch (e) {
      throw new StagetraceError("IO_ERROR", `cannot write to ${RECORDS_ENV}=${path}: ${(e as Error).message}`, { cause: e });
    }
    return 0;
  },
};
