import pino from "pino";
import type { ResolvedTelemetryConfig } from "./telemetry-config.js";

/** pino's worker-thread stream (thread-stream), as far as stagetrace uses it. */
export interface LogTransport {
  write(line: string): boolean;
  flush(cb: (err?: Error | null) => void): void;
  end(): void;
  emit(event: string, payload: unknown): boolean;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

// Our log lines name their level ("level":"INFO"), so the transport is told
// how those names map to OpenTelemetry severities.
const LEVEL_LABELS = { TRACE: "TRACE", DEBUG: "DEBUG", INFO: "INFO", WARN: "WARN", ERROR: "ERROR", FATAL: "FATAL" };
const SEVERITY = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 };

/**
 * Starts `pino-opentelemetry-transport` in a worker thread, exporting to the
 * resolved OTLP logs endpoint with a timeout inside the exit bound.
 */
export function createLogTransport(config: ResolvedTelemetryConfig, version: string): LogTransport {
  const exporter = { url: config.logsUrl, timeoutMillis: config.exportTimeoutMs, ...(config.headers ? { headers: config.headers } : {}) };
  const exporterOptions =
    config.logsProtocol === "grpc"
      ? { protocol: "grpc", grpcExporterOptions: exporter }
      : config.logsProtocol === "http/protobuf"
        ? { protocol: "http/protobuf", protobufExporterOptions: exporter }
        : { protocol: "http", httpExporterOptions: exporter };
  const stream = pino.transport({
    target: "pino-opentelemetry-transport",
    options: {
      loggerName: "stagetrace",
      serviceVersion: version,
      resourceAttributes: { "service.name": config.serviceName },
      severityNumberMap: SEVERITY,
      logRecordProcessorOptions: {
        recordProcessorType: "batch",
        exporterOptions,
        processorConfig: {
          scheduledDelayMillis: 200,
          exportTimeoutMillis: config.exportTimeoutMs,
          maxQueueSize: 16384,
          maxExportBatchSize: 512,
        },
      },
    },
  }) as unknown as LogTransport;
  // pino sends this itself when the transport is its only destination; here
  // it is one destination among three, so stagetrace sends it.
  stream.emit("message", {
    code: "PINO_CONFIG",
    config: { levels: { labels: LEVEL_LABELS, values: LEVEL_LABELS }, messageKey: "msg", errorKey: "err" },
  });
  stream.on("error", () => {
    // A failing transport must not crash the stage; losses are reported at shutdown.
  });
  return stream;
}

/** Hands every buffered line to the worker, then ends it (the worker exports what is left, within its timeout). */
export async function endLogTransport(stream: LogTransport, warn: (m: string) => void): Promise<void> {
  await new Promise<void>((resolve) => stream.flush(() => resolve()));
  try {
    stream.end();
  } catch (err) {
    warn(`the OTLP log transport did not shut down cleanly: ${(err as Error).message}`);
  }
}
