import { trace, type Span } from "@opentelemetry/api";
import pino, { type Logger, type LevelWithSilent } from "pino";
import { LOG_REDACT_KEYS, REDACTED, type SecretValues } from "../values/redaction.js";

import type { LogFile } from "./log-files.js";

const INFO = 30;

/** Where a stage's lines go besides its files: the OTLP log transport, when an endpoint is set. */
export interface LineSink {
  write(line: string): void;
}

export interface StageLoggerOptions {
  stage: string;
  stageNumber: number | null;
  span: Span;
  level: LevelWithSilent;
  stageLog: LogFile;
  pipelineLog: LogFile;
  /** The OTLP log transport, when an endpoint is set. */
  otlp: LineSink | null;
  /** Also write INFO+ (or every line, with "debug") to stderr. */
  console: "off" | "info" | "debug";
  secrets: SecretValues;
  /** Called for every line: a line is progress, as far as the stuck-stage alert can tell. */
  onLine?: () => void;
}

/**
 * One pino destination that routes each serialized line: every line to
 * stage.log, INFO and above to the pipeline log, every line to OTLP. pino
 * tells it each line's level (`needsMetadata`), so nothing is parsed twice.
 */
class LineRouter {
  [pino.symbols.needsMetadataGsym] = true as const;
  lastLevel = 0;

  constructor(private readonly o: StageLoggerOptions) {}

  write(line: string): void {
    const o = this.o;
    if (o.secrets.size > 0) line = o.secrets.scrub(line);
    o.stageLog.write(line);
    if (this.lastLevel >= INFO) o.pipelineLog.write(line);
    o.otlp?.write(line);
    o.onLine?.();
    if (o.console === "debug" || (o.console === "info" && this.lastLevel >= INFO)) process.stderr.write(line);
  }
}

/**
 * Every line carries the trace context of the span it was logged under: the
 * stage span, or a child span of the stage when one is active.
 */
function traceMixin(stageSpan: Span): () => Record<string, unknown> {
  const ctx = stageSpan.spanContext();
  // A fresh object per line: pino merges each call's fields into what the mixin returns.
  return () => {
    const active = trace.getActiveSpan();
    const c = active && active !== stageSpan && active.spanContext().traceId === ctx.traceId ? active.spanContext() : ctx;
    return { trace_id: c.traceId, span_id: c.spanId, trace_flags: c.traceFlags };
  };
}

const REDACT_KEYS = new Set(LOG_REDACT_KEYS);

/** A copy of `value` (an object one level down in a line) with its credential keys censored, or `value` itself when it has none. */
function redactNested(value: object): object {
  if (Array.isArray(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const key in value) {
    if (!REDACT_KEYS.has(key) || !Object.hasOwn(value, key)) continue;
    if (out === undefined) {
      out = Object.assign(Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>, value);
      // An Error's message and stack are not enumerable; keep them on the copy.
      if (value instanceof Error) Object.assign(out, { message: value.message, stack: value.stack });
    }
    out[key] = REDACTED;
  }
  return out ?? value;
}

/**
 * The fields of a line with credentials censored: a key from LOG_REDACT_KEYS
 * at the top level or one level down (pino's `key` and `*.key` paths). It
 * copies only what it changes, so the caller's objects are never modified,
 * and a line without such keys costs one Set lookup per field. (pino's own
 * `redact` option does the same but walks every value of every line, which
 * made it most of the logger's cost.)
 */
export function redactFields<T extends object>(fields: T): T {
  let out: Record<string, unknown> | undefined;
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    const value = (fields as Record<string, unknown>)[key];
    let replacement = value;
    if (REDACT_KEYS.has(key)) replacement = REDACTED;
    else if (value !== null && typeof value === "object") replacement = redactNested(value);
    if (replacement !== value) {
      out ??= { ...fields } as Record<string, unknown>;
      out[key] = replacement;
    }
  }
  return (out ?? fields) as T;
}

// Objects interpolated into a message (`log.info("%j", obj)`) are censored the same way.
function stringifyRedacted(value: unknown): string {
  try {
    return JSON.stringify(value !== null && typeof value === "object" ? redactFields(value) : value);
  } catch {
    return '"[Circular]"';
  }
}

export function createStageLogger(o: StageLoggerOptions): Logger {
  const logger = pino(
    {
      level: o.level,
      base: { pid: process.pid, stage: o.stage, ...(o.stageNumber !== null ? { stage_number: o.stageNumber } : {}) },
      messageKey: "msg",
      // Epoch milliseconds: what pino-opentelemetry-transport turns into the
      // record's timestamp (an ISO string there stops its worker).
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (label) => ({ level: label.toUpperCase() }), log: redactFields },
      mixin: traceMixin(o.span),
    },
    new LineRouter(o),
  );
  (logger as unknown as Record<symbol, unknown>)[pino.symbols.formatOptsSym] = { stringify: stringifyRedacted };
  // A child's bindings are censored too (children inherit this method).
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, bindings ? redactFields(bindings) : bindings, options);
  } as Logger["child"];
  return logger;
}
