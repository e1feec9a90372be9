import { trace, type Span } from "@opentelemetry/api";
import pino, { type Logger, type LevelWithSilent } from "pino";
import { logRedactPaths, REDACTED, type SecretValues } from "../stage/redaction.js";
import type { LogTransport } from "../telemetry/log-transport.js";
import type { LogFile } from "./log-files.js";

const INFO = 30;

export interface StageLoggerOptions {
  stage: string;
  stageNumber: number | null;
  span: Span;
  level: LevelWithSilent;
  stageLog: LogFile;
  pipelineLog: LogFile;
  /** The OTLP log transport, when an endpoint is set. */
  otlp: LogTransport | null;
  /** Also write INFO+ (or every line, with "debug") to stderr. */
  console: "off" | "info" | "debug";
  secrets: SecretValues;
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

export function createStageLogger(o: StageLoggerOptions): Logger {
  return pino(
    {
      level: o.level,
      base: { pid: process.pid, stage: o.stage, ...(o.stageNumber !== null ? { stage_number: o.stageNumber } : {}) },
      messageKey: "msg",
      // Epoch milliseconds: what pino-opentelemetry-transport turns into the
      // record's timestamp (an ISO string there stops its worker).
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
      mixin: traceMixin(o.span),
      redact: { paths: logRedactPaths(), censor: REDACTED },
    },
    new LineRouter(o),
  );
}
