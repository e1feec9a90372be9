import { context, type Context, type TextMapPropagator, type Tracer } from "@opentelemetry/api";
import { inspect } from "node:util";
import { EnvironmentGetter } from "@opentelemetry/propagator-env-carrier";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ManifestExporter, ManifestSpanProcessor } from "../../exporters/manifest-exporter.js";
import {
  CountingSpanProcessor,
  DeferredSpanExporter,
  ExportAccount,
  TrimmingCountingExporter,
} from "../../exporters/otlp-span-export.js";
import { SCHEMA_URL, TRACER_NAME } from "../conventions.js";
import { redactUrl, scrubText } from "../values/redaction.js";
import { dieBy, signalExitCode } from "../process-exit.js";
import type { TelemetryOptions, TelemetryReport } from "../types.js";
import { VERSION } from "../version.js";
import { FingerprintIndex } from "../fs/file-fingerprint.js";
import { LogFiles } from "../log/log-files.js";
import { LogTransport, type LogDelivery } from "./log-transport.js";
import { StageSampler } from "./stage-sampler.js";
import { otlpAgentFactory } from "./otlp-agent.js";
import {
  grpcEndpoint,
  grpcMetadata,
  resolvePropagators,
  resolveTelemetryConfig,
  type Propagator,
  type ResolvedTelemetryConfig,
} from "./telemetry-config.js";
import { Heartbeat, resolveHeartbeatConfig } from "./heartbeat.js";

/** The part of `exitTimeoutMs` kept for the process to wind down after shutdown has given up on the backend. */
const EXIT_MARGIN_MS = 300;

/** Says a telemetry problem once on stderr; it never changes what the stage does. */
export function warnOnce(): (message: string) => void {
  const said = new Set<string>();
  return (message) => {
    if (said.has(message)) return;
    said.add(message);
    // A warning may name an endpoint whose URL carries credentials.
    process.stderr.write(`stagetrace: ${scrubText(message)}\n`);
  };
}

/** The W3C propagators `names` lists (`OTEL_PROPAGATORS`), in that order; none for an empty list. */
export function propagatorFor(names: readonly Propagator[]): TextMapPropagator {
  return new CompositePropagator({
    propagators: names.map((n) => (n === "tracecontext" ? new W3CTraceContextPropagator() : new W3CBaggagePropagator())),
  });
}

const envWarn = warnOnce();
let envPropagatorCache: { raw: string | undefined; propagator: TextMapPropagator } | undefined;
function currentEnvPropagator(): TextMapPropagator {
  const raw = process.env.OTEL_PROPAGATORS;
  if (envPropagatorCache?.raw !== raw || envPropagatorCache === undefined) {
    envPropagatorCache = { raw, propagator: propagatorFor(resolvePropagators(process.env, envWarn)) };
  }
  return envPropagatorCache.propagator;
}

/**
 * The propagator stagetrace reads TRACEPARENT/TRACESTATE/BAGGAGE with and
 * passes them on to commands with: W3C trace context and baggage, or what
 * `OTEL_PROPAGATORS` names of those two (`none`: neither).
 */
export const envPropagator: TextMapPropagator = {
  inject: (ctx, carrier, setter) => currentEnvPropagator().inject(ctx, carrier, setter),
  extract: (ctx, carrier, getter) => currentEnvPropagator().extract(ctx, carrier, getter),
  fields: () => currentEnvPropagator().fields(),
};

/** What telemetry needs of a stage that is still open when the process ends. */
export interface OpenStage {
  readonly stageName: string;
  finalizeAbandoned(): Promise<void>;
  finalizeAbandonedSync(exitCode?: number): void;
  /** Ends the stage at once, awaiting nothing (signal, uncaught exception). */
  finalizeNow(
    status: "failed" | "interrupted",
    reason: string,
    options?: { error?: unknown; message?: string; when?: string; exitCode?: number },
  ): void;
}

/** One process's telemetry: the tracer provider, its exporters and the OTLP log transport. */
export class Telemetry {
  /** The resolved settings: each option, else its environment variable, else its default. */
  readonly config: ResolvedTelemetryConfig;
  /** stagetrace's own provider, or null when the app passed its own (`tracerProvider`). */
  readonly provider: NodeTracerProvider | null;
  /** The tracer stage spans are started from. */
  readonly tracer: Tracer;
  /** Writes `manifest.json` for every ended stage span of this process. */
  readonly manifestExporter: ManifestExporter;
  /** Counts spans delivered to and dropped by the OTLP backend, and gates exports near the exit deadline. */
  readonly account = new ExportAccount();
  /** The resource every span of this process carries. */
  readonly resource: Resource;
  private readonly processors: SpanProcessor[] = [];
  /** Prints a `stagetrace:` warning on stderr; each message at most once. */
  readonly warn: (message: string) => void;
  /** The local log files (stage logs, pipeline log) this process writes, buffered and flushed together. */
  readonly logFiles: LogFiles;
  /** The fingerprint indexes of the stage directories this telemetry's stages read hashes from or wrote. */
  readonly fingerprints = new FingerprintIndex();
  /** Heartbeat metrics of open stages; null without an OTLP endpoint or with an interval of 0. */
  readonly heartbeat: Heartbeat | null;
  private readonly openStages = new Map<string, OpenStage>();
  /** Every open stage, including a second StageIO for a directory another one holds. */
  private readonly open = new Set<OpenStage>();
  private processHandlers = false;
  /** Set once a signal or an uncaught exception made stagetrace end the process. */
  private exiting = false;
  /** Between `uncaughtExceptionMonitor` and `uncaughtException`: keep the handlers while the stages end. */
  private crashing = false;
  /** Closes the span export gate once no stage has been open for the exit budget (see releaseStageDir). */
  /** Cancels the idle timer that closes the export gate once no stage is open. */
  private cancelIdleGate: (() => void) | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => this.handleSignal(signal);
  private readonly onCrashMonitor = (error: unknown, origin: string) => this.finalizeCrashed(error, origin);
  private readonly onUncaught = (error: unknown, origin: string) => this.exitAfterCrash(error, origin);
  private logTransport: LogTransport | null | undefined;
  private shutdownPromise: Promise<TelemetryReport> | undefined;
  // The process is ending on its own. If the backend outlasted the exit
  // bound, an export still under way (a gRPC call, a retry timer) must not
  // hold the process: it then exits once the bound's margin has passed.
  private readonly onBeforeExit = () =>
    void this.finalizeAbandoned()
      .then(() => this.shutdown())
      .then((report) => {
        if (report.timedOut) setTimeout(() => process.exit(), EXIT_MARGIN_MS).unref();
      });
  private readonly onExit = (code: number) => {
    for (const stage of [...this.open]) stage.finalizeAbandonedSync(code);
    this.reportUnfinished();
  };

  constructor(options: TelemetryOptions = {}, env: NodeJS.ProcessEnv = process.env) {
    this.warn = warnOnce();
    this.config = resolveTelemetryConfig(options, env, this.warn);
    this.logFiles = new LogFiles(this.warn);
    const ownProvider = options.tracerProvider === undefined;
    this.manifestExporter = new ManifestExporter({
      endpoint: ownProvider && this.config.tracesUrl ? redactUrl(this.config.tracesUrl) : null,
      otlpMaxEventsPerSpan: this.config.otlpMaxEventsPerSpan,
      onWriteError: (path, err) =>
        this.warn(`could not write ${path}: ${(err as Error).message}. The stage goes on; its manifest is missing.`),
    });
    this.resource = defaultResource()
      .merge(detectResources({ detectors: [envDetector] }))
      .merge(resourceFromAttributes({ "service.name": this.config.serviceName }));
    const beats = resolveHeartbeatConfig(options, env, this.config, this.warn);
    this.heartbeat = beats ? new Heartbeat(beats, this.resource, VERSION, this.warn) : null;

    if (!ownProvider) {
      // The app's SDK exports the spans; its provider carries stageSpanProcessors() for the manifests.
      this.provider = null;
      this.tracer = options.tracerProvider!.getTracer(TRACER_NAME, VERSION, { schemaUrl: SCHEMA_URL });
    } else {
      const processors: SpanProcessor[] = [new ManifestSpanProcessor(this.manifestExporter)];
      if (this.config.tracesUrl) processors.push(this.otlpProcessor(this.config.tracesUrl));
      if (this.config.tracesConsole) processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
      processors.push(...(options.spanProcessors ?? []));
      this.processors = processors;
      this.provider = new NodeTracerProvider({
        resource: this.resource,
        sampler: new StageSampler(this.config.sampler),
        spanProcessors: processors,
        // The manifest is built from the span, so the span must keep every file
        // event and config attribute; what goes over OTLP is trimmed separately.
        // No OTEL_*_LIMIT variable may shorten it either: those limits apply on the wire only.
        spanLimits: {
          attributeCountLimit: Infinity,
          attributeValueLengthLimit: Infinity,
          eventCountLimit: Infinity,
          attributePerEventCountLimit: Infinity,
        },
        generalLimits: { attributeCountLimit: Infinity, attributeValueLengthLimit: Infinity },
      });
      if (this.config.registerGlobal) this.provider.register({ propagator: propagatorFor(this.config.propagators) });
      this.tracer = this.provider.getTracer(TRACER_NAME, VERSION, { schemaUrl: SCHEMA_URL });
    }
    process.once("beforeExit", this.onBeforeExit);
    process.once("exit", this.onExit);
  }

  private otlpProcessor(url: string): SpanProcessor {
    const options = {
      url,
      timeoutMillis: this.config.exportTimeoutMs,
      ...(this.config.tracesHeaders ? { headers: this.config.tracesHeaders } : {}),
    };
    const protocol = this.config.tracesProtocol;
    const httpOptions = { ...options, httpAgentOptions: otlpAgentFactory(this.config.tracesTls, this.warn) };
    // Only the exporter of the protocol in use is loaded, and only when the first span is exported.
    const exporter = new DeferredSpanExporter(async () => {
      if (protocol === "grpc") {
        const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-grpc");
        const { headers, ...rest } = options as typeof options & { headers?: Record<string, string> };
        return new OTLPTraceExporter({ ...rest, url: grpcEndpoint(url), ...(headers ? { metadata: await grpcMetadata(headers) } : {}) });
      }
      if (protocol === "http/protobuf") {
        const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
        return new OTLPTraceExporter(httpOptions);
      }
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
      return new OTLPTraceExporter(httpOptions);
    });
    const trimming = new TrimmingCountingExporter(exporter, this.account, this.config.otlpMaxEventsPerSpan, this.config.otlpAttributeValueLengthLimit);
    const batch = new BatchSpanProcessor(trimming, { ...this.config.bsp });
    return new CountingSpanProcessor(batch, this.account);
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

  /** Notes that a stage owns `stageDir` until it is finalized; a second owner gets a warning, not a corrupt manifest. */
  claimStageDir(stageDir: string, stage: OpenStage): void {
    if (this.openStages.has(stageDir)) {
      this.warn(
        `two StageIO objects for stage ${stage.stageName} are open at once in this process; both write ${stageDir}/manifest.json and the last to finalize wins`,
      );
    }
    this.openStages.set(stageDir, stage);
    this.open.add(stage);
    if (this.open.size === 1) this.installProcessHandlers();
    this.cancelIdleGate?.();
    this.cancelIdleGate = undefined;
    this.account.reopen();
  }

  /**
   * Notes that the stage owning `stageDir` has ended; with no stage left open, the process handlers are removed.
   */
  releaseStageDir(stageDir: string, stage: OpenStage): void {
    if (this.openStages.get(stageDir) === stage) this.openStages.delete(stageDir);
    this.open.delete(stage);
    if (this.open.size === 0 && !this.exiting && !this.crashing) this.removeProcessHandlers();
    if (this.open.size === 0) this.closeGateWhenIdle();
  }

  /**
   * The exit bound counts from the end of the last open stage. Exports still
   * queued or retrying against a dead backend would keep the event loop busy,
   * so `beforeExit` (and with it the bounded shutdown) would come only after
   * them: thousands of queued spans could hold the process for many seconds.
   * So once no stage has been open for `exitTimeoutMs` minus one export
   * timeout, queued batches fail at once (and are counted), exactly as at
   * shutdown. A stage that starts later opens the gate again.
   */
  private closeGateWhenIdle(): void {
    if (this.cancelIdleGate !== undefined || !this.config.tracesUrl) return;
    this.cancelIdleGate = this.account.closeWhenOneExportLeft(this.config.exitTimeoutMs, lastExportMs(this.config.exitTimeoutMs, this.config.exportTimeoutMs));
  }

  /**
   * While a stage is open: SIGINT/SIGTERM (unless `handleSignals` is off)
   * and uncaught exceptions / unhandled rejections end the open stages with
   * the truth. Prepended, so the stages are final before any listener of
   * the app's runs (and perhaps exits).
   */
  private installProcessHandlers(): void {
    if (this.processHandlers) return;
    this.processHandlers = true;
    if (this.config.handleSignals) {
      process.prependListener("SIGINT", this.onSignal);
      process.prependListener("SIGTERM", this.onSignal);
    }
    process.prependListener("uncaughtExceptionMonitor", this.onCrashMonitor);
    process.prependListener("uncaughtException", this.onUncaught);
  }

  private removeProcessHandlers(): void {
    if (!this.processHandlers) return;
    this.processHandlers = false;
    process.removeListener("SIGINT", this.onSignal);
    process.removeListener("SIGTERM", this.onSignal);
    process.removeListener("uncaughtExceptionMonitor", this.onCrashMonitor);
    process.removeListener("uncaughtException", this.onUncaught);
  }

  /**
   * SIGINT/SIGTERM while a stage is open: every open stage ends
   * `interrupted` with the signal's name as reason, and the logs are
   * written. If the app listens for the signal too, that is all: its
   * listener decides what happens next. Otherwise stagetrace exports within
   * `exitTimeoutMs` and exits with 128 + the signal number (130, 143); a
   * second signal meanwhile exits at once.
   */
  private handleSignal(signal: NodeJS.Signals): void {
    const code = signalExitCode(signal);
    if (this.exiting) {
      this.logFiles.flushAll();
      this.exitBy(signal);
    }
    const appListens = process.listenerCount(signal) > 1;
    for (const stage of [...this.open]) {
      stage.finalizeNow("interrupted", signal, {
        when: `${signal} arrived`,
        ...(appListens ? {} : { exitCode: code }),
      });
    }
    this.logFiles.flushAll();
    if (appListens) return;
    this.exiting = true;
    process.exitCode = code;
    void this.shutdown().finally(() => this.exitBy(signal));
  }

  /**
   * Ends the process by `signal` itself (default action), so a calling shell
   * or `stagetrace run` sees a death by that signal and stops, as it would
   * without stagetrace; exits 128 + its number where that cannot be done.
   */
  private exitBy(signal: NodeJS.Signals): never {
    this.removeProcessHandlers();
    dieBy(signal);
    process.exit(signalExitCode(signal));
  }

  /** `uncaughtExceptionMonitor`: runs before Node (or the app) handles the error; every open stage ends `failed` with it. */
  private finalizeCrashed(error: unknown, origin: string): void {
    const what = origin === "unhandledRejection" ? "unhandled rejection" : "uncaught exception";
    const message = error instanceof Error ? error.message : inspect(error);
    this.crashing = true;
    // Without a listener of the app's, the process is about to exit with 1 (Node's code, and ours).
    const exitCode = process.listenerCount("uncaughtException") > 1 ? {} : { exitCode: 1 };
    for (const stage of [...this.open]) {
      stage.finalizeNow("failed", `${what}: ${message}`, { error, message, when: `the ${what} ended the process`, ...exitCode });
    }
    this.logFiles.flushAll();
  }

  /**
   * `uncaughtException`: with no listener of the app's, Node would print the
   * error and exit with 1 now, before the stage's span reaches the backend.
   * stagetrace does the same, after exporting within `exitTimeoutMs`. An app
   * with its own listener keeps its own behaviour.
   */
  private exitAfterCrash(error: unknown, _origin: string): void {
    this.crashing = false;
    if (this.exiting) return;
    if (process.listenerCount("uncaughtException") > 1) {
      if (this.open.size === 0) this.removeProcessHandlers();
      return;
    }
    this.exiting = true;
    process.stderr.write(`${inspect(error)}\n`);
    process.exitCode = 1;
    void this.shutdown().finally(() => process.exit(1));
  }

  /** Finalizes, as failed, every stage the process is leaving without a finalize() call. */
  private async finalizeAbandoned(): Promise<void> {
    await Promise.all([...this.open].map((s) => s.finalizeAbandoned()));
  }

  /** The OTLP log destination shared by every stage logger of this process, or null without an endpoint. */
  logDestination(): LogTransport | null {
    if (this.logTransport === undefined) {
      this.logTransport = null;
      if (this.config.logsUrl || this.config.logsConsole) {
        const attributes: Record<string, string> = {};
        for (const [k, v] of Object.entries(this.resource.attributes)) if (v !== undefined) attributes[k] = String(v);
        this.logTransport = LogTransport.start(this.config, VERSION, attributes);
      }
    }
    return this.logTransport;
  }

  /**
   * Flushes and stops everything, waiting for the backend at most
   * `exitTimeoutMs`. Runs once; later calls get the same report.
   */
  shutdown(): Promise<TelemetryReport> {
    // A stage started after this (say, after an implicit shutdown at
    // beforeExit) gets fresh telemetry instead of a stopped provider.
    if (current === this) current = null;
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<TelemetryReport> {
    process.removeListener("beforeExit", this.onBeforeExit);
    const { exitTimeoutMs, exportTimeoutMs } = this.config;
    // Everything below ends by this budget; the rest of the bound is left for
    // the process to wind down (workers, exit handlers) on a busy machine.
    const budget = Math.max(0, exitTimeoutMs - EXIT_MARGIN_MS);
    const exitBy = Date.now() + budget;
    // Queued batches then fail at once instead of each waiting out a timeout.
    const cancelGate = this.account.closeWhenOneExportLeft(budget, lastExportMs(budget, exportTimeoutMs));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), budget);
    });
    const spans = (this.provider ? this.provider.shutdown() : Promise.resolve()).then(
      () => "done" as const,
      (err: unknown) => {
        this.warn(`span export failed at shutdown: ${(err as Error).message}`);
        return "done" as const;
      },
    );
    const beats = this.heartbeat?.shutdown(exitBy);
    this.logFiles.flushAll();
    // Let the span exporter put its requests on the wire before the log
    // worker's end, which blocks this thread while the worker exports: both
    // then wait for the backend side by side, not one after the other.
    await new Promise((resolve) => setImmediate(resolve));
    const logs: LogDelivery | null = this.logTransport ? await this.logTransport.end(this.warn, exitBy) : null;
    const outcome = await Promise.race([Promise.all([spans, beats]).then(() => "done" as const), deadline]);
    clearTimeout(timer);
    if (outcome === "timeout") this.account.abandon();
    cancelGate();

    const logsExported = logs?.exported ?? 0;
    const report: TelemetryReport = {
      endpoint: this.provider && this.config.tracesUrl ? redactUrl(this.config.tracesUrl) : null,
      exported: this.account.exported,
      dropped: this.account.dropped,
      logRecordsExported: logsExported,
      logRecordsDropped: logs ? Math.max(0, logs.handed - logsExported) : 0,
      timedOut: outcome === "timeout",
    };
    if (report.endpoint && report.dropped > 0) {
      const why = this.account.lastError ? ` (${this.account.lastError})` : report.timedOut ? ` (gave up after ${exitTimeoutMs} ms)` : "";
      this.warn(
        `${report.dropped} of ${this.account.handed} spans were not delivered to ${report.endpoint}${why}; ` +
          "local manifests and logs are complete",
      );
    }
    if (this.config.logsUrl && report.logRecordsDropped > 0) {
      const why = logs?.lastError ? ` (${logs.lastError})` : "";
      this.warn(`${report.logRecordsDropped} of ${logs!.handed} log records were not delivered to ${this.config.logsUrl}${why}`);
    }
    for (const exporter of appManifestExporters) {
      exporter.recordTelemetry({ exported: 0, dropped: 0, log_records_exported: report.logRecordsExported, log_records_dropped: report.logRecordsDropped });
    }
    this.manifestExporter.recordTelemetry({
      exported: report.exported,
      dropped: report.dropped,
      log_records_exported: report.logRecordsExported,
      log_records_dropped: report.logRecordsDropped,
    });
    return report;
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

/**
 * How much of an exit budget the last export gets: its whole timeout when
 * that fits in half the budget, else half the budget. Exports under way
 * when the budget runs out are abandoned (and counted as dropped), not cut
 * short: each one has the full timeout the user set until then.
 */
export function lastExportMs(budgetMs: number, exportTimeoutMs: number): number {
  return Math.min(exportTimeoutMs, Math.floor(budgetMs / 2));
}

let current: Telemetry | null = null;

/**
 * Starts telemetry for this process (once; later calls return the same
 * instance). Stages call it lazily, so calling it yourself is only needed to
 * pass options. Nothing is started at import.
 */
export function initTelemetry(options: TelemetryOptions = {}): Telemetry {
  current ??= new Telemetry(options);
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

/**
 * For apps that already run their own OpenTelemetry SDK: the span
 * processors that write manifests (and, with an endpoint, nothing else: the
 * app's own exporters send the spans). Add them to the app's provider and
 * raise its span limits (`eventCountLimit`) so no tracked file is dropped.
 */
export function stageSpanProcessors(options: { onWriteError?: (path: string, error: unknown) => void } = {}): SpanProcessor[] {
  const exporter = new ManifestExporter({
    onWriteError: options.onWriteError,
    logsOnly: true,
    // The app's provider keeps at most its eventCountLimit events a span (128 by default): say what the manifest lacks.
    onEventsDropped: (stage, dropped) =>
      appWarn(
        `stage ${stage}: the tracer provider dropped ${dropped} events of its span, so manifest.json lacks that many files, warnings or errors; ` +
          "raise the provider's spanLimits.eventCountLimit (see docs/configuration.md)",
      ),
  });
  appManifestExporters.add(exporter);
  return [new ManifestSpanProcessor(exporter)];
}

/** The manifest exporters of stageSpanProcessors(): telemetry records this process's log counts in their manifests at shutdown. */
const appManifestExporters = new Set<ManifestExporter>();
const appWarn = warnOnce();

/** Reads TRACEPARENT/TRACESTATE/BAGGAGE from the process environment (W3C env carrier) into a context. */
export function contextFromEnv(base: Context = context.active()): Context {
  return envPropagator.extract(base, undefined, new EnvironmentGetter());
}
