import { trace, type Span } from "@opentelemetry/api";
import pino, { type Logger, type LevelWithSilent } from "pino";
import { isSecretKey, REDACTED, scrubText, type SecretValues } from "../values/redaction.js";

import type { LogFile } from "./log-files.js";
import { PINO_NEEDS_METADATA, setPinoInterpolationStringify } from "../package-internals.js";

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
  stageLog: Pick<LogFile, "write">;
  pipelineLog: Pick<LogFile, "write">;
  /** The OTLP log transport, when an endpoint is set. */
  otlp: LineSink | null;
  /** Also write INFO+ (or every line, with "debug") to stderr. */
  console: "off" | "info" | "debug";
  secrets: SecretValues;
  /** Called for every line: a line is progress, as far as the stuck-stage alert can tell. */
  onLine?: () => void;
  /** The `pid` of every line: the stage's process (default this one's). */
  pid?: number;
  /**
   * Instead of the files, OTLP and the console: every line and its level go
   * here (a stage process whose lines the run's agent writes).
   */
  forward?: (line: string, level: number) => void;
}

/**
 * One pino destination that routes each serialized line: every line to
 * stage.log, INFO and above to the pipeline log, every line to OTLP. pino
 * tells it each line's level (`needsMetadata`), so nothing is parsed twice.
 */
class LineRouter {
  [PINO_NEEDS_METADATA] = true as const;
  lastLevel = 0;

  constructor(private readonly o: StageLoggerOptions) {}

  write(line: string): void {
    const o = this.o;
    if (o.forward) {
      o.forward(line, this.lastLevel);
      return;
    }
    // Credentials in free text (a URL with a password, `--password=`, a Bearer token) are censored in every line.
    line = o.secrets.size > 0 ? o.secrets.scrub(line) : scrubText(line);
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

/** How deep into a line's fields credential keys are looked for. */
const REDACT_DEPTH = 8;

/**
 * A copy of `value` with the values of credential keys (the rule config
 * redaction uses, `isSecretKey`) censored, at any depth and inside arrays of
 * objects, or `value` itself when it has none. Only what changes is copied.
 */
function redactValue(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object" || depth > REDACT_DEPTH) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const r = redactValue(v, depth + 1);
      if (r !== v) (out ??= value.slice())[i] = r;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    const r = isSecretKey(key) ? REDACTED : redactValue(v, depth + 1);
    if (r === v) continue;
    if (out === undefined) {
      out = Object.assign(Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>, value);
      // An Error's message and stack are not enumerable; keep them on the copy.
      if (value instanceof Error) Object.assign(out, { message: value.message, stack: value.stack });
    }
    out[key] = r;
  }
  return out ?? value;
}

/**
 * The fields of a line with credentials censored: any key that `isSecretKey`
 * matches (the one rule for config and logs: `password`, `dbPassword`,
 * `db_password`, `apiKey`...), at any depth and inside arrays. It copies
 * only what it changes, so the caller's objects are never modified, and a
 * line of plain fields costs one cached key test per field. (pino's own
 * `redact` option needs exact paths and walks every value of every line.)
 */
export function redactFields<T extends object>(fields: T): T {
  return redactValue(fields, 0) as T;
}

// Objects interpolated into a message (`log.info("%j", obj)`) are censored the same way.
function stringifyRedacted(value: unknown): string {
  try {
    return JSON.stringify(value !== null && typeof value === "object" ? redactFields(value) : value);
  } catch {
    return '"[Circular]"';
  }
}

const routers = new WeakMap<Logger, LineRouter>();

/**
 * A line formatted by another process's stage logger (the same options, so
 * the same bytes), routed as this logger routes its own: `level` is pino's
 * number for it.
 */
export function writeRoutedLine(logger: Logger, line: string, level: number): void {
  const router = routers.get(logger);
  if (!router) return;
  router.lastLevel = level;
  router.write(line);
}

export function createStageLogger(o: StageLoggerOptions): Logger {
  const router = new LineRouter(o);
  const logger = pino(
    {
      level: o.level,
      base: { pid: o.pid ?? process.pid, stage: o.stage, ...(o.stageNumber !== null ? { stage_number: o.stageNumber } : {}) },
      messageKey: "msg",
      // Epoch milliseconds: what pino-opentelemetry-transport turns into the
      // record's timestamp (an ISO string there stops its worker).
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (label) => ({ level: label.toUpperCase() }), log: redactFields },
      mixin: traceMixin(o.span),
    },
    router,
  );
  routers.set(logger, router);
  setPinoInterpolationStringify(logger, stringifyRedacted);
  // A child's bindings are censored too (children inherit this method).
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the logger as `this` below
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, bindings ? redactFields(bindings) : bindings, options);
  } as Logger["child"];
  return logger;
}
