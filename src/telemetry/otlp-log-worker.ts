/**
 * The OTLP log exporter, run by pino in a worker thread (`pino.transport`)
 * so that exporting never slows the stage's own thread. Each line becomes a
 * log record with the trace context it carries; field names that have a
 * semantic-convention name get it (`log.iostream`, `exception.*`). What
 * this module adds to OpenTelemetry's log SDK is a shutdown that ends
 * within the exit bound however the backend behaves, and a count of the
 * records that were not delivered, sent back to the stage's thread.
 */
import { context, trace, type Attributes } from "@opentelemetry/api";
import type { ExportResult } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type LogRecordExporter,
  type LogRecordProcessor,
  type ReadableLogRecord,
} from "@opentelemetry/sdk-logs";
import { ATTR_EXCEPTION_MESSAGE, ATTR_EXCEPTION_STACKTRACE, ATTR_EXCEPTION_TYPE } from "@opentelemetry/semantic-conventions";
import { parentPort } from "node:worker_threads";
import build from "pino-abstract-transport";
import { ExportGate } from "../../exporters/export-gate.js";
import { LOG_ATTR, LOG_COUNTS_EVENT, LOG_DEADLINE_MESSAGE, SCHEMA_URL } from "../conventions.js";
import { otlpAgentFactory } from "./otlp-agent.js";
import { StdoutLogRecordExporter } from "./stdout-log-exporter.js";
import { HostedResources } from "./hosted-log-resource.js";
import type { LogAttributes, LogAttributeValue, LogRecord } from "./otel-lines.js";
import type { BatchSettings, OtlpProtocol, TlsFiles } from "../config/telemetry-config.js";

export interface LogWorkerOptions {
  /** The OTLP logs URL, or null when records go to the console only. */
  url: string | null;
  protocol: OtlpProtocol;
  headers: Record<string, string> | undefined;
  tls: TlsFiles;
  /** Also print each record on stdout (`OTEL_LOGS_EXPORTER` includes `console`). */
  console: boolean;
  resourceAttributes: Attributes;
  version: string;
  /** pino's level label (upper case) to the OpenTelemetry severity number. */
  severityNumberMap: Record<string, number>;
  exitTimeoutMs: number;
  exportTimeoutMs: number;
  batch: BatchSettings;
}

class GatedLogExporter implements LogRecordExporter {
  constructor(
    private readonly inner: LogRecordExporter,
    private readonly gate: ExportGate,
  ) {}

  export(logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    this.gate.pass(logs.length, (done) => this.inner.export(logs, done), resultCallback);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

async function otlpExporter(o: LogWorkerOptions, url: string): Promise<LogRecordExporter> {
  const base = { timeoutMillis: o.exportTimeoutMs, ...(o.headers ? { headers: o.headers } : {}) };
  if (o.protocol === "grpc") {
    const [{ OTLPLogExporter }, { Metadata }] = await Promise.all([
      import("@opentelemetry/exporter-logs-otlp-grpc"),
      import("@grpc/grpc-js"),
    ]);
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(o.headers ?? {})) metadata.set(k, v);
    const u = new URL(url);
    return new OTLPLogExporter({ url: `${u.protocol}//${u.host}`, timeoutMillis: o.exportTimeoutMs, metadata });
  }
  // Unreferenced sockets, so the worker can end while an export still waits on a dead backend.
  const http = { ...base, url, httpAgentOptions: otlpAgentFactory(o.tls, () => {}) };
  if (o.protocol === "http/protobuf") {
    const { OTLPLogExporter } = await import("@opentelemetry/exporter-logs-otlp-proto");
    return new OTLPLogExporter(http);
  }
  const { OTLPLogExporter } = await import("@opentelemetry/exporter-logs-otlp-http");
  return new OTLPLogExporter(http);
}

/** Fields of a line that are not attributes: they are the record's time, severity, body and trace context. */
const RECORD_FIELDS = new Set(["time", "level", "msg", "pid", "hostname", "trace_id", "span_id", "trace_flags"]);

function anyValue(v: unknown): LogAttributeValue | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  return v as LogAttributeValue;
}

/**
 * One stage-log line as a log record. `stream` becomes `log.iostream`,
 * `err` (pino's serialized error) and `exception_type` become
 * `exception.type`, `exception.message` and `exception.stacktrace`, and the
 * stage's name and number their span attributes' names; other fields keep
 * their names.
 */
export function recordFromLine(line: Record<string, unknown>, severityNumberMap: Record<string, number>): LogRecord {
  const attributes: LogAttributes = {};
  for (const [key, value] of Object.entries(line)) {
    if (RECORD_FIELDS.has(key)) continue;
    if (key === "stream") attributes[LOG_ATTR.iostream] = anyValue(value);
    else if (key === "stage") attributes[ATTR_TASK_NAME] = anyValue(value);
    else if (key === "stage_number") attributes[ATTR_STAGE_NUMBER] = anyValue(value);
    else if (key === "exception_type") attributes[ATTR_EXCEPTION_TYPE] = anyValue(value);
    else if (key === "err" && value !== null && typeof value === "object") {
      const { type, message, stack, ...rest } = value as Record<string, unknown>;
      if (type !== undefined) attributes[ATTR_EXCEPTION_TYPE] = anyValue(type);
      if (message !== undefined) attributes[ATTR_EXCEPTION_MESSAGE] = anyValue(message);
      if (stack !== undefined) attributes[ATTR_EXCEPTION_STACKTRACE] = anyValue(stack);
      if (Object.keys(rest).length > 0) attributes["exception.details"] = rest as LogAttributeValue;
    } else attributes[key] = anyValue(value);
  }
  for (const k of Object.keys(attributes)) if (attributes[k] === undefined) delete attributes[k];
  const level = typeof line.level === "string" ? line.level : "";
  let ctx = context.active();
  if (typeof line.trace_id === "string" && typeof line.span_id === "string") {
    ctx = trace.setSpanContext(ctx, {
      traceId: line.trace_id,
      spanId: line.span_id,
      traceFlags: typeof line.trace_flags === "number" ? line.trace_flags : 0,
      isRemote: true,
    });
  }
  return {
    ...(typeof line.time === "number" ? { timestamp: line.time } : {}),
    ...(line.msg !== undefined ? { body: anyValue(line.msg) } : {}),
    severityNumber: severityNumberMap[level] ?? 0,
    ...(level ? { severityText: level } : {}),
    attributes,
    context: ctx,
  };
}

const ATTR_TASK_NAME = "cicd.pipeline.task.name";
const ATTR_STAGE_NUMBER = "stagetrace.stage.number";

/** How long before the process's deadline this thread stops turning lines into records: the time its shutdown needs. */
const LATE_MS = 250;

export default async function logWorker(options: LogWorkerOptions) {
  // When the stage's process must be gone (epoch ms), sent as it shuts down.
  let deadline: number | null = null;
  parentPort?.on("message", (m: { code?: string; deadline?: number }) => {
    if (m?.code === LOG_DEADLINE_MESSAGE && typeof m.deadline === "number") deadline = m.deadline;
  });
  const gate = new ExportGate();
  const hosted = new HostedResources();
  const processors: LogRecordProcessor[] = [];
  if (options.url !== null) {
    const exporter = hosted.exporter(new GatedLogExporter(await otlpExporter(options, options.url), gate));
    processors.push(new BatchLogRecordProcessor({ exporter, ...options.batch }));
  }
  if (options.console) processors.push(new SimpleLogRecordProcessor({ exporter: hosted.exporter(new StdoutLogRecordExporter()) }));
  const provider = new LoggerProvider({ resource: resourceFromAttributes(options.resourceAttributes), processors });
  const logger = provider.getLogger("stagetrace", options.version, { schemaUrl: SCHEMA_URL });

  return build(
    async (source) => {
      for await (const text of source) {
        // Lines still queued this close to the deadline could not be exported in time anyway: they are
        // counted as not delivered (handed minus exported), not parsed, so the process ends by its bound
        // however far behind this thread is (a burst of lines, a backend that refuses everything).
        if (deadline !== null && Date.now() >= deadline - LATE_MS) continue;
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text as string) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (line === null || typeof line !== "object" || hosted.define(line)) continue;
        logger.emit(recordFromLine(line, options.severityNumberMap));
      }
    },
    {
      // Lines as text, parsed above: the ones that come too late are never parsed.
      parse: "lines",
      parseLine: (text: string) => text,
      async close() {
        const budget = deadline === null ? options.exitTimeoutMs : Math.max(0, deadline - Date.now());
        const cancelGate = gate.closeWhenOneExportLeft(budget, Math.min(options.exportTimeoutMs, Math.floor(budget / 2)));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          provider.shutdown().catch(() => {}),
          new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, budget - 150)))),
        ]);
        cancelGate();
        clearTimeout(timer);
        parentPort?.postMessage({
          code: "EVENT",
          name: LOG_COUNTS_EVENT,
          args: [{ exported: gate.exported, lastError: gate.lastError ?? null }],
        });
      },
    },
  );
}
