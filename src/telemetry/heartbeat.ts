/**
 * Stage heartbeats: OTLP metrics sent while a stage is open, so a backend can
 * tell a running stage from one that was killed or hangs. A span says nothing
 * until it ends, and a killed stage's span never does.
 *
 * Off unless an OTLP endpoint is set: without one nothing here is loaded (the
 * metrics SDK and exporter are imported on the first stage that beats).
 * Every beat is best effort. Requests go out on unreferenced sockets and are
 * never retried, so a dead backend can neither keep the process alive nor
 * delay its exit past `exitTimeoutMs`; failures are counted and said once
 * at shutdown.
 */
import type { Attributes, BatchObservableResult } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { MetricData, MetricReader, PushMetricExporter, ResourceMetrics, ScopeMetrics } from "@opentelemetry/sdk-metrics";
import { ATTR, METRIC, METRIC_ATTR, PROCESS_RESOURCE_ATTR, SCHEMA_URL, TRACER_NAME } from "../conventions.js";
import { processResourceAttributes } from "./process-resource.js";
import type { TelemetryOptions } from "../types.js";
import { grpcEndpoint, grpcMetadata, otlpAgentFactory } from "./otlp-agent.js";
import type { OtlpProtocol, ResolvedTelemetryConfig, TlsFiles } from "../config/telemetry-config.js";
import type { Env, Warn } from "../config/env-rules.js";
import { stagetraceSettings } from "../config/stagetrace-settings.js";

/**
 * The span attributes a heartbeat carries, so alerts can name the stage:
 * values bounded by the pipelines' definitions, so each stage of each
 * pipeline is one series however often it runs.
 */
const COPIED_ATTRIBUTES = [ATTR.taskName, ATTR.stageNumber, ATTR.pipelineName] as const;

/**
 * With `STAGETRACE_METRIC_RUN_LABELS=on`, also these, which make one series
 * per stage run (every run, trace, directory and process is a new value):
 * the run, the stage directory, and (with the trace id and the process's
 * host and pid) where the stage runs.
 */
const RUN_ATTRIBUTES = [ATTR.pipelineRunId, ATTR.stageDir] as const;

export interface HeartbeatConfig {
  /** The OTLP/HTTP metrics URL (for gRPC, its scheme, host and port are used); null when beats go to the console only. */
  url: string | null;
  /** Also print each beat on stdout (`OTEL_METRICS_EXPORTER` includes `console`). */
  console?: boolean;
  /** TLS files for an https URL (`OTEL_EXPORTER_OTLP_[METRICS_]CERTIFICATE`, client certificate and key). */
  tls?: TlsFiles;
  protocol: OtlpProtocol;
  intervalMs: number;
  timeoutMs: number;
  headers: Record<string, string> | undefined;
  /** Seconds without progress before a stage counts as stalled. */
  stallAfterS: number;
  /** Seconds a stage is expected to take at most, or null when not set. */
  expectedDurationS: number | null;
  /** Also label the beats with the run id, trace id, stage directory, host and pid (`STAGETRACE_METRIC_RUN_LABELS`). */
  runLabels?: boolean;
}

/**
 * Where and how often stages beat, or null when they do not: no OTLP
 * endpoint, or an interval of 0. Precedence as for traces: option, then
 * environment, then default. The metrics URL is `<otlpEndpoint>/v1/metrics`,
 * else `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, else
 * `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/metrics`.
 */
export function resolveHeartbeatConfig(
  options: TelemetryOptions,
  env: Env,
  config: Pick<ResolvedTelemetryConfig, "metricsUrl" | "exportTimeoutMs" | "headers"> &
    Partial<Pick<ResolvedTelemetryConfig, "metricsProtocol" | "metricsHeaders" | "metricsTimeoutMs" | "metricsTls" | "metricsConsole">>,
  warn: Warn,
): HeartbeatConfig | null {
  const settings = stagetraceSettings(env, warn);
  const intervalMs = settings.heartbeatIntervalMs(options.heartbeatIntervalMs);
  if (intervalMs === 0) return null;

  if (!config.metricsUrl && !config.metricsConsole) return null;
  return {
    url: config.metricsUrl,
    console: config.metricsConsole ?? false,
    tls: config.metricsTls ?? {},
    protocol: config.metricsProtocol ?? "http/protobuf",
    intervalMs,
    timeoutMs: Math.min(config.metricsTimeoutMs ?? config.exportTimeoutMs, MAX_BEAT_TIMEOUT_MS),
    headers: config.metricsHeaders ?? config.headers,
    stallAfterS: settings.stallAfterS(),
    expectedDurationS: settings.expectedDurationS(),
    runLabels: settings.metricRunLabels(),
  };
}

/** One open (or just ended) stage as the heartbeat reports it. */
interface Beat {
  readonly attributes: Attributes;
  readonly startedAt: number;
  /** Unix seconds of the last progress. */
  progressAt: number;
  /** Unix seconds; null while the stage is open. */
  endedAt: number | null;
}

/** Attributes as a key that does not depend on their order. */
const attributesKey = (a: Attributes): string => JSON.stringify(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));

/**
 * `rm` split by the resource of the stage each data point is of: one
 * ResourceMetrics per resource, in first-seen order, with the scopes and
 * metrics the points were under. Points of no hosted stage keep `rm`'s resource.
 */
export function splitByResource(rm: ResourceMetrics, resourceOf: (attributes: Attributes) => Resource | undefined): ResourceMetrics[] {
  const groups = new Map<Resource, { scopes: Map<ScopeMetrics, Map<MetricData, unknown[]>> }>();
  for (const scope of rm.scopeMetrics) {
    for (const metric of scope.metrics) {
      for (const point of metric.dataPoints as { attributes: Attributes }[]) {
        const resource = resourceOf(point.attributes) ?? rm.resource;
        let group = groups.get(resource);
        if (group === undefined) groups.set(resource, (group = { scopes: new Map() }));
        let metrics = group.scopes.get(scope);
        if (metrics === undefined) group.scopes.set(scope, (metrics = new Map<MetricData, unknown[]>()));
        let points = metrics.get(metric);
        if (points === undefined) metrics.set(metric, (points = []));
        points.push(point);
      }
    }
  }
  if (groups.size === 0 || (groups.size === 1 && groups.has(rm.resource))) return [rm];
  return [...groups].map(([resource, { scopes }]) => ({
    resource,
    scopeMetrics: [...scopes].map(([scope, metrics]) => ({
      scope: scope.scope,
      metrics: [...metrics].map(([metric, points]) => ({ ...metric, dataPoints: points }) as MetricData),
    })),
  }));
}

/** What a stage holds on to: call `end()` when the stage ends. */
export interface StageHeartbeat {
  /** The stage made progress (a log line, a tracked file): cheap, nothing is sent. */
  progress(): void;
  end(): void;
}

interface Sdk {
  reader: MetricReader;
  exporter: PushMetricExporter;
  shutdown(): Promise<void>;
}

const nowSeconds = () => Date.now() / 1000;

/**
 * The longest one heartbeat export may take, whatever
 * `OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT` says: below the OTLP exporter's first
 * retry backoff (800 ms at the earliest), so a failed beat is never retried
 * on a timer that would keep the process alive. The next beat replaces it.
 */
export const MAX_BEAT_TIMEOUT_MS = 750;

/** `work`, or nothing once `deadline` (epoch ms) has passed. */
async function untilDeadline(work: Promise<unknown>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
  clearTimeout(timer);
}

/** One exporter that hands each export to all of `exporters`; it succeeds when the first (the OTLP one) does. */
function allOf(exporters: PushMetricExporter[]): PushMetricExporter {
  return {
    export(metrics, resultCallback) {
      let first: ExportResult | undefined;
      let left = exporters.length;
      exporters.forEach((e, i) =>
        e.export(metrics, (result) => {
          if (i === 0) first = result;
          if (--left === 0) resultCallback(first!);
        }),
      );
    },
    async forceFlush() {
      await Promise.all(exporters.map((e) => e.forceFlush()));
    },
    async shutdown() {
      await Promise.all(exporters.map((e) => e.shutdown()));
    },
  };
}

/**
 * The heartbeat of every stage in this process: gauges observed at each
 * export, one export at the stage's start, one every `intervalMs` while a
 * stage is open, and one at its end (the `active` gauge then reads 0).
 */
export class Heartbeat {
  private readonly beats = new Set<Beat>();
  /**
   * The resource of each hosted stage's beats, by their attributes. Kept
   * after the stage ends: the metrics SDK goes on reporting the last value
   * of a gauge's attribute set (cumulative), which must stay on its stage's resource.
   */
  private readonly hostedResources = new Map<string, Resource>();
  private sdk: Promise<Sdk | null> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private attempts = 0;
  private failures = 0;
  private lastError: string | undefined;

  constructor(
    readonly config: HeartbeatConfig,
    /** The resource of the beats, read when the metrics SDK is loaded (at the first beat). */
    private readonly resource: () => Resource,
    private readonly version: string,
    private readonly warn: Warn,
  ) {}

  /**
   * Starts beating for a stage whose span carries `spanAttributes`; a stage
   * the run's agent hosts beats with its own process's `resource`.
   */
  start(spanAttributes: Attributes, traceId: string, resource?: Resource): StageHeartbeat {
    const attributes: Attributes = {};
    for (const key of COPIED_ATTRIBUTES) if (spanAttributes[key] !== undefined) attributes[key] = spanAttributes[key];
    if (this.config.runLabels) {
      for (const key of RUN_ATTRIBUTES) if (spanAttributes[key] !== undefined) attributes[key] = spanAttributes[key];
      const proc = resource?.attributes ?? processResourceAttributes();
      attributes[METRIC_ATTR.traceId] = traceId;
      attributes[ATTR.hostName] = proc[PROCESS_RESOURCE_ATTR.hostName];
      attributes[ATTR.processPid] = proc[PROCESS_RESOURCE_ATTR.processPid];
    }
    const startedAt = nowSeconds();
    const beat: Beat = { attributes, startedAt, progressAt: startedAt, endedAt: null };
    if (resource !== undefined) this.hostedResources.set(attributesKey(attributes), resource);
    if (this.closed) return { progress() {}, end() {} };
    this.beats.add(beat);
    if (!this.timer) {
      this.timer = setInterval(() => this.export(), this.config.intervalMs);
      this.timer.unref();
    }
    this.export();
    return {
      progress: () => {
        beat.progressAt = nowSeconds();
      },
      end: () => {
        if (beat.endedAt !== null) return;
        beat.endedAt = nowSeconds();
        this.export();
      },
    };
  }

  /** Starts an export now, or right after the one under way. */
  private export(): void {
    if (this.closed || this.beats.size === 0) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = this.exportOnce().finally(() => {
      this.inFlight = undefined;
      if (this.again) {
        this.again = false;
        this.export();
      }
    });
  }

  private async exportOnce(): Promise<void> {
    const sdk = await this.load();
    if (!sdk || this.beats.size === 0) return;
    // Ended stages are reported once more (active = 0), then forgotten.
    const ended = [...this.beats].filter((b) => b.endedAt !== null);
    let result: ExportResult;
    try {
      const { resourceMetrics } = await sdk.reader.collect({ timeoutMillis: this.config.timeoutMs });
      const hosted = this.hostedResources;
      const parts = hosted.size === 0 ? [resourceMetrics] : splitByResource(resourceMetrics, (a) => hosted.get(attributesKey(a)));
      result = { code: ExportResultCode.SUCCESS };
      for (const part of parts) {
        const one = await new Promise<ExportResult>((resolve) => sdk.exporter.export(part, resolve));
        if (one.code !== ExportResultCode.SUCCESS) result = one;
      }
    } catch (err) {
      result = { code: ExportResultCode.FAILED, error: err as Error };
    }
    this.attempts++;
    if (result.code === ExportResultCode.SUCCESS) {
      for (const b of ended) this.beats.delete(b);
    } else {
      this.failures++;
      this.lastError = result.error?.message ?? "export failed";
    }
  }

  private load(): Promise<Sdk | null> {
    this.sdk ??= this.loadSdk().catch((err: unknown) => {
      this.warn(`stage heartbeats are off: could not load the OpenTelemetry metrics SDK (${(err as Error).message})`);
      return null;
    });
    return this.sdk;
  }

  private async loadSdk(): Promise<Sdk> {
    const metrics = await import("@opentelemetry/sdk-metrics");
    const { url, timeoutMs: timeoutMillis, headers, protocol } = this.config;
    const exporters: PushMetricExporter[] = [];
    if (url !== null && protocol === "grpc") {
      // gRPC keeps its connection referenced only while a call is under way.
      const { OTLPMetricExporter } = await import("@opentelemetry/exporter-metrics-otlp-grpc");
      exporters.push(
        new OTLPMetricExporter({ url: grpcEndpoint(url), timeoutMillis, ...(headers ? { metadata: await grpcMetadata(headers) } : {}) }),
      );
    } else if (url !== null) {
      const { OTLPMetricExporter } =
        protocol === "http/protobuf"
          ? await import("@opentelemetry/exporter-metrics-otlp-proto")
          : await import("@opentelemetry/exporter-metrics-otlp-http");
      // Unreferenced sockets: a beat under way never keeps the process alive.
      const httpAgentOptions = otlpAgentFactory(this.config.tls ?? {}, this.warn);
      exporters.push(new OTLPMetricExporter({ url, timeoutMillis, httpAgentOptions, ...(headers ? { headers } : {}) }));
    }
    if (this.config.console) exporters.push(new metrics.ConsoleMetricExporter());
    const exporter = allOf(exporters);
    class OnDemandReader extends metrics.MetricReader {
      protected override async onShutdown(): Promise<void> {}
      protected override async onForceFlush(): Promise<void> {}
    }
    const reader = new OnDemandReader();
    const provider = new metrics.MeterProvider({ resource: this.resource(), readers: [reader] });
    const meter = provider.getMeter(TRACER_NAME, this.version, { schemaUrl: SCHEMA_URL });
    const { stallAfterS, expectedDurationS } = this.config;
    const now = { seconds: 0 };
    // Each gauge and what it reads for one beat (null: not sent).
    const gauges: [string, string | undefined, string, (b: Beat) => number | null][] = [
      [METRIC.stageActive, undefined, "1 while the stage runs, 0 once it has ended", (b) => (b.endedAt === null ? 1 : 0)],
      [
        METRIC.stageHeartbeat,
        "s",
        "Unix time of the stage's last heartbeat; its end time once it has ended",
        (b) => b.endedAt ?? now.seconds,
      ],
      [METRIC.stageStartTime, "s", "Unix time the stage started", (b) => b.startedAt],
      [
        METRIC.stageProgress,
        "s",
        "Unix time of the stage's last progress: a log line, a tracked file, a warning",
        (b) => b.endedAt ?? b.progressAt,
      ],
      [
        METRIC.stageStallAfter,
        "s",
        "How long the stage may go without progress before it counts as stalled (STAGETRACE_STALL_AFTER_S)",
        () => stallAfterS,
      ],
      [
        METRIC.stageExpectedDuration,
        "s",
        "How long the stage is expected to take at most (STAGETRACE_EXPECTED_DURATION_S)",
        () => expectedDurationS,
      ],
    ];
    const observables = gauges.map(([name, unit, description]) =>
      meter.createObservableGauge(name, { description, ...(unit ? { unit } : {}) }),
    );
    meter.addBatchObservableCallback((result: BatchObservableResult) => {
      now.seconds = nowSeconds();
      for (const beat of this.beats) {
        gauges.forEach(([, , , read], i) => {
          const value = read(beat);
          if (value !== null) result.observe(observables[i]!, value, beat.attributes);
        });
      }
    }, observables);
    return {
      reader,
      exporter,
      shutdown: async () => {
        await provider.shutdown().catch(() => {});
        await exporter.shutdown().catch(() => {});
      },
    };
  }

  /**
   * Sends what is left (the final `active = 0` of stages that ended) if an
   * export still fits before `deadline` (epoch ms), then stops. Never
   * rejects; says once on stderr how many beats did not arrive.
   */
  async shutdown(deadline: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // Each beat has its whole timeout; shutdown's deadline, not a shorter
    // timeout, is what ends the wait for one still under way.
    if (this.inFlight) await untilDeadline(this.inFlight, deadline);
    if (this.beats.size > 0 && this.sdk && Date.now() < deadline) {
      await untilDeadline(this.exportOnce(), deadline);
    }
    const sdk = this.sdk ? await this.sdk : null;
    await sdk?.shutdown();
    if (this.failures > 0) {
      this.warn(
        `${this.failures} of ${this.attempts} stage heartbeat exports to ${this.config.url ?? "the console"} failed` +
          (this.lastError ? ` (${this.lastError})` : ""),
      );
    }
  }
}
