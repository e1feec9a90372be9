import type { Attributes, Tracer } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TracerProvider as SdkTracerProvider, SpanProcessor } from "@opentelemetry/sdk-trace";
import { ManifestExporter } from "../../exporters/manifest-exporter.js";
import { ExportAccount } from "../../exporters/otlp-span-export.js";
import type { TelemetryOptions, TelemetryReport } from "../types.js";
import { VERSION } from "../version.js";
import { redactUrl } from "../values/redaction.js";
import { FingerprintIndex } from "../fs/file-fingerprint.js";
import { LogFiles } from "../log/log-files.js";
import { Heartbeat, resolveHeartbeatConfig } from "./heartbeat.js";
import { processResourceAttributes } from "./process-resource.js";
import { plainAttributes, stageResource } from "./stage-resource.js";
import { LogTransport } from "./log-transport.js";
import { ProcessLifecycle, type OpenStage } from "./process-lifecycle.js";
import { stageTracing } from "./provider.js";
import { isRecordedLocally } from "./app-stage-tracer.js";
import { shutdownWithin } from "./shutdown.js";
import { resolveTelemetryConfig, serviceNameFromEnv, type ResolvedTelemetryConfig } from "../config/telemetry-config.js";
import type { Env } from "../config/env-rules.js";

export type { OpenStage } from "./process-lifecycle.js";
export { contextFromEnv, envPropagator, propagatorFor, stageSpanProcessors, withChosenIds } from "./provider.js";
export { lastExportMs } from "./shutdown.js";
export { processResourceAttributes } from "./process-resource.js";
export { warnOnce } from "./warn-once.js";
import { warnOnce } from "./warn-once.js";

/**
 * One process's telemetry: the tracer provider and its exporters (provider.ts),
 * the process's lifecycle around open stages (process-lifecycle.ts), the
 * bounded shutdown (shutdown.ts), the log files, the OTLP log transport and
 * the fingerprint indexes its stages share.
 */
export class Telemetry {
  /** The resolved settings: each option, else its environment variable, else its default. */
  readonly config: ResolvedTelemetryConfig;
  /** stagetrace's own provider, or null when the app passed its own (`tracerProvider`). */
  readonly provider: SdkTracerProvider | null;
  /** The tracer stage spans are started from. */
  readonly tracer: Tracer;
  /** Writes `manifest.json` for every ended stage span of this process. */
  readonly manifestExporter: ManifestExporter;
  /** Counts spans delivered to and dropped by the OTLP backend, and gates exports near the exit deadline. */
  readonly account = new ExportAccount();
  /**
   * The resource of this process's spans, log records and heartbeats. On an
   * app's tracer provider, the app's resource, taken from the first stage span.
   */
  resource: Resource;
  private appResourceAdopted = false;
  private readonly processors: SpanProcessor[];
  /** Prints a `stagetrace:` warning on stderr; each message at most once. */
  readonly warn: (message: string) => void;
  /** The local log files (stage logs, pipeline log) this process writes, buffered and flushed together. */
  readonly logFiles: LogFiles;
  /** The fingerprint indexes of the stage directories this telemetry's stages read hashes from or wrote. */
  readonly fingerprints = new FingerprintIndex();
  /** Heartbeat metrics of open stages; null without an OTLP endpoint or with an interval of 0. */
  readonly heartbeat: Heartbeat | null;
  private readonly lifecycle: ProcessLifecycle;
  private logTransport: LogTransport | null | undefined;
  /** A tracer whose spans have `resource` (resourceOfStageProcess) and go to this process's processors. */
  readonly tracerOf: (resource: Resource) => Tracer;
  private readonly stageResources = new Map<string, Resource>();
  private shutdownPromise: Promise<TelemetryReport> | undefined;

  constructor(
    options: TelemetryOptions = {},
    env: NodeJS.ProcessEnv = process.env,
    private readonly onShutdown: (telemetry: Telemetry) => void = () => {},
  ) {
    this.warn = warnOnce();
    this.config = resolveTelemetryConfig(options, env, this.warn);
    this.logFiles = new LogFiles(this.warn);
    this.manifestExporter = new ManifestExporter({
      endpoint: options.tracerProvider === undefined && this.config.tracesUrl ? redactUrl(this.config.tracesUrl) : null,
      otlpMaxEventsPerSpan: this.config.otlpMaxEventsPerSpan,
      onWriteError: (path, err) =>
        this.warn(`could not write ${path}: ${(err as Error).message}. The stage goes on; its manifest is missing.`),
    });
    // The host and the process are the resource's, not each span's; OTEL_RESOURCE_ATTRIBUTES beats them.
    this.resource = stageResource(processResourceAttributes(), env, this.config.serviceName);
    const beats = resolveHeartbeatConfig(options, env, this.config, this.warn);
    this.heartbeat = beats ? new Heartbeat(beats, () => this.resource, VERSION, this.warn) : null;
    const tracing = stageTracing(this.config, this.resource, this.manifestExporter, this.account, options, this.warn);
    this.provider = tracing.provider;
    this.tracer = tracing.tracer;
    this.tracerOf = tracing.tracerFor;
    this.processors = tracing.processors;
    this.lifecycle = new ProcessLifecycle({
      config: this.config,
      logFiles: this.logFiles,
      account: this.account,
      warn: this.warn,
      shutdown: (boundFrom) => this.shutdown(boundFrom),
      atExit: () => this.reportUnfinished(),
    });
  }

  /**
   * The resource of another stage process (the run's agent hosts its
   * stage): its host and process attributes, its `OTEL_RESOURCE_ATTRIBUTES`
   * and `OTEL_SERVICE_NAME`, made as this process's own resource is. The
   * same attributes give the same object, so its spans share one
   * resource in the export.
   */
  resourceOfStageProcess(processAttributes: Attributes, env: Env): Resource {
    const resource = stageResource(processAttributes, env, serviceNameFromEnv(env));
    const key = JSON.stringify(resource.attributes);
    let known = this.stageResources.get(key);
    if (known === undefined) this.stageResources.set(key, (known = resource));
    return known;
  }

  /**
   * Hands an already-ended span to this process's span processors (manifest
   * and OTLP), as if it had ended here. `stagetrace run` uses it for the span
   * of a stage whose process died before ending it (`spanFromManifest`).
   */
  emitEndedSpan(span: ReadableSpan): void {
    if (this.processors.length === 0) {
      this.warn(`span ${span.name} was not exported: telemetry runs on the app's own tracer provider`);
      return;
    }
    for (const p of this.processors) p.onEnd(span);
  }

  /**
   * On an app's tracer provider, the app's resource (its `service.name` and
   * the rest) becomes this process's, so stagetrace's log records and
   * heartbeats name the service its spans do. Taken from the first stage
   * span, before any log record or heartbeat is sent; later calls do nothing.
   */
  adoptAppResource(span: object): void {
    // A stage the app's sampler dropped is recorded by stagetrace, on stagetrace's resource: a later one may have the app's.
    if (this.provider !== null || this.appResourceAdopted || isRecordedLocally(span)) return;
    const resource = (span as { resource?: Resource }).resource;
    if (resource === undefined || typeof resource.merge !== "function") return;
    this.appResourceAdopted = true;
    this.resource = resource;
  }

  /** Notes that a stage owns `stageDir` until it is finalized; a second owner gets a warning, not a corrupt manifest. */
  claimStageDir(stageDir: string, stage: OpenStage): void {
    this.lifecycle.claimStageDir(stageDir, stage);
  }

  /** Notes that the stage owning `stageDir` has ended; with no stage left open, the process handlers are removed. */
  releaseStageDir(stageDir: string, stage: OpenStage): void {
    this.lifecycle.releaseStageDir(stageDir, stage);
  }

  /** The OTLP log destination shared by every stage logger of this process, or null without an endpoint. */
  logDestination(): LogTransport | null {
    if (this.logTransport === undefined) {
      this.logTransport = null;
      if (this.config.logsUrl || this.config.logsConsole) {
        this.logTransport = LogTransport.start(this.config, VERSION, plainAttributes(this.resource));
      }
    }
    return this.logTransport;
  }

  /**
   * Flushes and stops everything, waiting for the backend at most
   * `exitTimeoutMs` (counted from `boundFrom`, epoch ms, when given: the end
   * of the last stage of a process ending on its own). Runs once; later
   * calls get the same report.
   */
  shutdown(boundFrom?: number): Promise<TelemetryReport> {
    if (this.shutdownPromise) return this.shutdownPromise;
    this.onShutdown(this);
    this.lifecycle.shuttingDown();
    this.shutdownPromise = shutdownWithin({
      config: this.config,
      provider: this.provider,
      account: this.account,
      heartbeat: this.heartbeat,
      logFiles: this.logFiles,
      logTransport: this.logTransport ?? null,
      manifestExporter: this.manifestExporter,
      warn: this.warn,
      ...(boundFrom !== undefined ? { boundFrom } : {}),
    });
    return this.shutdownPromise;
  }

  private reportUnfinished(): void {
    if (this.shutdownPromise || !this.provider || !this.config.tracesUrl) return;
    const pending = this.account.handed - this.account.exported;
    if (pending > 0) {
      this.warn(
        `the process exited before shutdownTelemetry() ran: up to ${pending} spans were not sent to ${redactUrl(this.config.tracesUrl ?? "")}. ` +
          "Set process.exitCode instead of calling process.exit(), or await shutdownTelemetry() first.",
      );
    }
  }
}

let current: Telemetry | null = null;

/**
 * Starts telemetry for this process (once; later calls return the same
 * instance). Stages call it lazily, so calling it yourself is only needed to
 * pass options. Nothing is started at import.
 */
export function initTelemetry(options: TelemetryOptions = {}): Telemetry {
  // A stage started after a shutdown (say, the implicit one at beforeExit)
  // gets fresh telemetry instead of a stopped provider.
  current ??= new Telemetry(options, process.env, (t) => {
    if (current === t) current = null;
  });
  return current;
}

/** The running telemetry, if any stage or `initTelemetry` started it. */
export function activeTelemetry(): Telemetry | null {
  return current;
}

/**
 * Flushes manifests, logs and spans and stops telemetry, waiting for the
 * backend at most `exitTimeoutMs` (default 3 s). Safe to call more than once.
 */
export async function shutdownTelemetry(): Promise<TelemetryReport> {
  if (!current) return { endpoint: null, exported: 0, dropped: 0, logRecordsExported: 0, logRecordsDropped: 0, timedOut: false };
  return current.shutdown();
}
