/**
 * The OTLP log exporter, run by pino in a worker thread so that exporting
 * never slows the stage's own thread. Records are mapped exactly as
 * pino-opentelemetry-transport maps them (its mapper and context loader);
 * what this module adds is what that transport cannot do: a shutdown that
 * ends within the exit bound however the backend behaves, and a count of the
 * records that were not delivered, sent back to the stage's thread.
 */
import type { ExportResult } from "@opentelemetry/core";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from "@opentelemetry/sdk-logs";
import { parentPort } from "node:worker_threads";
import build from "pino-abstract-transport";
import { ExportGate } from "../../exporters/export-gate.js";
import { LOG_COUNTS_EVENT } from "../conventions.js";
import { pinoOtelTransportParts } from "../package-internals.js";

// Not imported from log-transport.js: that module loads pino, which the worker does not need.
const LOG_DEADLINE_MESSAGE = "STAGETRACE_LOG_DEADLINE";

const parts = pinoOtelTransportParts();
const toOpenTelemetry = parts.toOpenTelemetry;
const createExporter = parts.createExporter as (opts: unknown) => LogRecordExporter;
const loadContext = parts.loadContext as (record: unknown) => Parameters<ReturnType<LoggerProvider["getLogger"]>["emit"]>[0];

export interface LogWorkerOptions {
  exporterOptions: unknown;
  resourceAttributes: Record<string, string>;
  version: string;
  severityNumberMap: Record<string, number>;
  exitTimeoutMs: number;
  exportTimeoutMs: number;
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

export default async function logWorker(options: LogWorkerOptions) {
  // When the stage's process must be gone (epoch ms), sent as it shuts down.
  let deadline: number | null = null;
  parentPort?.on("message", (m: { code?: string; deadline?: number }) => {
    if (m?.code === LOG_DEADLINE_MESSAGE && typeof m.deadline === "number") deadline = m.deadline;
  });
  const gate = new ExportGate();
  const exporter = new GatedLogExporter(createExporter(options.exporterOptions), gate);
  const resource: Resource = resourceFromAttributes(options.resourceAttributes);
  const provider = new LoggerProvider({
    resource,
    processors: [
      new BatchLogRecordProcessor({
        exporter,
        scheduledDelayMillis: 200,
        exportTimeoutMillis: options.exportTimeoutMs,
        maxQueueSize: 16384,
        maxExportBatchSize: 1024,
      }),
    ],
  });
  const logger = provider.getLogger("stagetrace", options.version);

  return build(
    async (source) => {
      // expectPinoConfig: the stream carries the levels and message key stagetrace sent.
      const config = source as unknown as { messageKey: string; levels: unknown };
      const mapping = { messageKey: config.messageKey, levels: config.levels, severityNumberMap: options.severityNumberMap };
      for await (const line of source) logger.emit(loadContext(toOpenTelemetry(line, mapping)));
    },
    {
      expectPinoConfig: true,
      async close() {
        const budget = deadline === null ? options.exitTimeoutMs : Math.max(0, deadline - Date.now());
        const cancelGate = gate.closeWhenOneExportLeft(budget, options.exportTimeoutMs);
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
