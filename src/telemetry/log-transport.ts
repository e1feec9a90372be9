import { fileURLToPath } from "node:url";
import pino from "pino";
import { LOG_COUNTS_EVENT } from "../conventions.js";
import type { LogWorkerOptions } from "./otlp-log-worker.js";
import type { ResolvedTelemetryConfig } from "./telemetry-config.js";

/** pino's worker-thread stream (thread-stream), as far as stagetrace uses it. */
interface ThreadStream {
  write(line: string): boolean;
  flush(cb: (err?: Error | null) => void): void;
  end(): void;
  emit(event: string, payload: unknown): boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

// Lines name their level ("level":"INFO"); the worker is told how those
// names map to OpenTelemetry severities.
const LEVEL_LABELS = { TRACE: "TRACE", DEBUG: "DEBUG", INFO: "INFO", WARN: "WARN", ERROR: "ERROR", FATAL: "FATAL" };
const SEVERITY = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 };

export interface LogDelivery {
  /** Lines handed to the worker. */
  handed: number;
  /** Records the backend accepted, or null if the worker never reported. */
  exported: number | null;
  lastError: string | null;
}

/**
 * The compiled worker module. A worker thread loads plain JavaScript, so when
 * this module itself runs from TypeScript source (in tests), the build's copy
 * is used.
 */
function workerPath(): string {
  const here = import.meta.url;
  const url = here.endsWith(".ts")
    ? new URL("../../dist/src/telemetry/otlp-log-worker.js", here)
    : new URL("./otlp-log-worker.js", here);
  return fileURLToPath(url);
}

/** The OTLP log destination: lines go to a worker thread that exports them. */
export class LogTransport {
  private handed = 0;
  private counts: { exported: number; lastError: string | null } | null = null;

  private constructor(private readonly stream: ThreadStream) {
    stream.on(LOG_COUNTS_EVENT, (c: { exported: number; lastError: string | null }) => {
      this.counts = c;
    });
    // A failing worker must never crash the stage; what it lost is reported at shutdown.
    stream.on("error", () => {});
  }

  static start(config: ResolvedTelemetryConfig, version: string, resourceAttributes: Record<string, string>): LogTransport {
    const exporter = { url: config.logsUrl, timeoutMillis: config.exportTimeoutMs, ...(config.headers ? { headers: config.headers } : {}) };
    const exporterOptions =
      config.logsProtocol === "grpc"
        ? { protocol: "grpc", grpcExporterOptions: exporter }
        : config.logsProtocol === "http/protobuf"
          ? { protocol: "http/protobuf", protobufExporterOptions: exporter }
          : { protocol: "http", httpExporterOptions: exporter };
    const options: LogWorkerOptions = {
      exporterOptions,
      resourceAttributes,
      version,
      severityNumberMap: SEVERITY,
      exitTimeoutMs: config.exitTimeoutMs,
      exportTimeoutMs: config.exportTimeoutMs,
    };
    const stream = pino.transport({ target: workerPath(), options }) as unknown as ThreadStream;
    // pino sends this itself when a transport is its only destination; here
    // the worker is one destination of three, so stagetrace sends it.
    stream.emit("message", {
      code: "PINO_CONFIG",
      config: { levels: { labels: LEVEL_LABELS, values: LEVEL_LABELS }, messageKey: "msg", errorKey: "err" },
    });
    return new LogTransport(stream);
  }

  write(line: string): void {
    this.handed++;
    this.stream.write(line);
  }

  /**
   * Hands every buffered line to the worker, then ends it. `end()` blocks
   * this thread until the worker has exported what it can, which the worker
   * bounds by the exit timeout.
   */
  async end(warn: (m: string) => void): Promise<LogDelivery> {
    await new Promise<void>((resolve) => this.stream.flush(() => resolve()));
    try {
      this.stream.end();
    } catch (err) {
      warn(`the OTLP log worker did not shut down cleanly: ${(err as Error).message}`);
    }
    // The worker's counts arrive as a message; let it be delivered.
    await new Promise((resolve) => setImmediate(resolve));
    return { handed: this.handed, exported: this.counts?.exported ?? null, lastError: this.counts?.lastError ?? null };
  }
}
