import type { Attributes } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { LOG_COUNTS_EVENT, LOG_DEADLINE_MESSAGE, LOG_RESOURCE_DEF, LOG_RESOURCE_REF } from "../conventions.js";
import { threadStreamWorker } from "../package-internals.js";
import type { LogWorkerOptions } from "./otlp-log-worker.js";
import { plainAttributes } from "./stage-resource.js";
import type { ResolvedTelemetryConfig } from "../config/telemetry-config.js";

/** pino's worker-thread stream (thread-stream), as far as stagetrace uses it. */
interface ThreadStream {
  write(data: string): boolean;
  flush(cb: (err?: Error | null) => void): void;
  end(): void;
  emit(event: string, payload: unknown): boolean;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

// Lines name their level ("level":"INFO"); the worker is told how those
// names map to OpenTelemetry severities.
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
  const url = here.endsWith(".ts") ? new URL("../../dist/src/telemetry/otlp-log-worker.js", here) : new URL("./otlp-log-worker.js", here);
  return fileURLToPath(url);
}

// Lines go to the worker in batches: one hand-over per 64 KiB or 100 ms costs
// far less than one per line (each write synchronises with the worker).
const BATCH_BYTES = 64 * 1024;
const BATCH_INTERVAL_MS = 100;

/** The OTLP log destination: lines go to a worker thread that exports them. */
export class LogTransport {
  private handed = 0;
  private counts: { exported: number; lastError: string | null } | null = null;
  private pending = "";
  private pendingLines = 0;
  private timer: NodeJS.Timeout | undefined;
  /** True while the worker's buffer is full: batches are then dropped (and counted), not queued in memory. */
  private behind = false;
  private droppedBehind = 0;
  /** The resources of hosted stages the worker has been told of (one object per resource: Telemetry.resourceOfStageProcess). */
  private readonly resources = new Map<Resource, number>();

  private constructor(private readonly stream: ThreadStream) {
    stream.on(LOG_COUNTS_EVENT, (c: { exported: number; lastError: string | null }) => {
      this.counts = c;
    });
    // A failing worker must never crash the stage; what it lost is reported at shutdown.
    stream.on("error", () => {});
    stream.on("drain", () => (this.behind = false));
  }

  static start(config: ResolvedTelemetryConfig, version: string, resourceAttributes: Attributes): LogTransport {
    const options: LogWorkerOptions = {
      url: config.logsUrl,
      protocol: config.logsProtocol,
      headers: config.logsHeaders,
      tls: config.logsTls,
      console: config.logsConsole,
      resourceAttributes,
      version,
      severityNumberMap: SEVERITY,
      exitTimeoutMs: config.exitTimeoutMs,
      exportTimeoutMs: config.logsTimeoutMs,
      batch: config.blrp,
    };
    const stream = pino.transport({ target: workerPath(), options }) as unknown as ThreadStream;
    return new LogTransport(stream);
  }

  /**
   * Where the lines of a stage the run's agent hosts go: to the same
   * worker, each marked with the stage's resource (its process's), which
   * the worker is told of before the first of them (LOG_RESOURCE_DEF).
   */
  sinkFor(resource: Resource): { write(line: string): void } {
    let id = this.resources.get(resource);
    if (id === undefined) {
      id = this.resources.size + 1;
      this.resources.set(resource, id);
      this.pending += JSON.stringify({ [LOG_RESOURCE_DEF]: id, attributes: plainAttributes(resource) }) + "\n";
    }
    const mark = `{${JSON.stringify(LOG_RESOURCE_REF)}:${id},`;
    // A pino line is a JSON object with fields (its level first): the mark goes in as its first field.
    return { write: (line) => this.write(line.startsWith("{") ? mark + line.slice(1) : line) };
  }

  write(line: string): void {
    this.handed++;
    this.pendingLines++;
    this.pending += line;
    if (this.pending.length >= BATCH_BYTES) this.handOver();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.handOver(), BATCH_INTERVAL_MS);
      this.timer.unref();
    }
  }

  private handOver(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === "") return;
    const data = this.pending;
    const lines = this.pendingLines;
    this.pending = "";
    this.pendingLines = 0;
    // A worker that cannot keep up (a burst of lines, a backend that refuses
    // everything) must not make this process queue lines without bound, or
    // stay alive after its stages end to feed them through.
    if (this.behind) {
      this.droppedBehind += lines;
      return;
    }
    if (!this.stream.write(data)) this.behind = true;
  }

  /**
   * Hands every buffered line to the worker, then ends it. `end()` blocks
   * this thread until the worker has exported what it can, which the worker
   * bounds by the exit timeout.
   */
  async end(warn: (m: string) => void, deadline: number): Promise<LogDelivery> {
    // The worker's own wait for the backend ends by the process's deadline,
    // however long it took to get here.
    threadStreamWorker(this.stream)?.postMessage({ code: LOG_DEADLINE_MESSAGE, deadline });
    this.handOver();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.stream.flush(() => resolve())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now() - 100)))),
    ]);
    clearTimeout(timer);
    try {
      this.stream.end();
    } catch (err) {
      warn(`the OTLP log worker did not shut down cleanly: ${(err as Error).message}`);
    }
    // The worker's counts arrive as a message; let it be delivered.
    await new Promise((resolve) => setImmediate(resolve));
    const behind = this.droppedBehind > 0 ? `${this.droppedBehind} dropped while the log exporter was behind` : null;
    const lastError = [this.counts?.lastError ?? null, behind].filter((e) => e !== null).join("; ") || null;
    return { handed: this.handed, exported: this.counts?.exported ?? null, lastError };
  }
}
