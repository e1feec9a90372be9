import { context, type Context, type TextMapPropagator, type TraceState, type Tracer, type TracerProvider } from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { EnvironmentGetter } from "@opentelemetry/propagator-env-carrier";
import type { Resource } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  RandomIdGenerator,
  SamplingDecision,
  SimpleSpanProcessor,
  TracerProvider as SdkTracerProvider,
  type IdGenerator,
  type Sampler,
  type SamplingResult,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import { ManifestExporter, ManifestSpanProcessor } from "../../exporters/manifest-exporter.js";
import {
  CountingSpanProcessor,
  DeferredSpanExporter,
  type ExportAccount,
  TrimmingCountingExporter,
} from "../../exporters/otlp-span-export.js";
import { SCHEMA_URL, TRACER_NAME } from "../conventions.js";
import { VERSION } from "../version.js";
import { registerTracing } from "./otel-lines.js";
import { StageSampler } from "./stage-sampler.js";
import { AppStageTracer, type RecordDroppedStage } from "./app-stage-tracer.js";
import { grpcEndpoint, grpcMetadata, otlpAgentFactory } from "./otlp-agent.js";
import { currentPropagators, type Propagator, type ResolvedTelemetryConfig } from "../config/telemetry-config.js";
import { warnOnce } from "./warn-once.js";

/** The W3C propagators `names` lists (`OTEL_PROPAGATORS`), in that order; none for an empty list. */
export function propagatorFor(names: readonly Propagator[]): TextMapPropagator {
  return new CompositePropagator({
    propagators: names.map((n) => (n === "tracecontext" ? new W3CTraceContextPropagator() : new W3CBaggagePropagator())),
  });
}

const envWarn = warnOnce();
let envPropagatorCache: { names: readonly Propagator[]; propagator: TextMapPropagator } | undefined;
function currentEnvPropagator(): TextMapPropagator {
  // The same list while OTEL_PROPAGATORS is unchanged, so the propagator is built once per value.
  const names = currentPropagators(process.env, envWarn);
  if (envPropagatorCache?.names !== names) envPropagatorCache = { names, propagator: propagatorFor(names) };
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

/** Reads TRACEPARENT/TRACESTATE/BAGGAGE from the process environment (W3C env carrier) into a context. */
export function contextFromEnv(base: Context = context.active()): Context {
  return envPropagator.extract(base, undefined, new EnvironmentGetter());
}

/**
 * Random ids, except for a span whose ids were chosen elsewhere: a stage
 * process that hands its records to the run's agent picks its stage span's
 * id itself (its log lines carry it), and the agent starts the span under it.
 */
class ChosenIdGenerator implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  chosen: { traceId: string; spanId: string } | undefined;
  generateTraceId(): string {
    return this.chosen?.traceId ?? this.random.generateTraceId();
  }
  generateSpanId(): string {
    return this.chosen?.spanId ?? this.random.generateSpanId();
  }
}

const idGenerator = new ChosenIdGenerator();

/**
 * `start()` with the span it starts under the ids given (the trace id is
 * taken only when the span has no parent). Applies to spans of stagetrace's
 * own provider; an app's provider picks its own ids.
 */
export function withChosenIds<T>(ids: { traceId: string; spanId: string }, start: () => T): T {
  idGenerator.chosen = ids;
  try {
    return start();
  } finally {
    idGenerator.chosen = undefined;
  }
}

/** The tracer stage spans start from, and stagetrace's own provider with its processors (none on an app's provider). */
export interface StageTracing {
  provider: SdkTracerProvider | null;
  tracer: Tracer;
  processors: SpanProcessor[];
  /**
   * A tracer whose spans have `resource` and go to the same processors:
   * the run's agent starts a hosted stage's span with it, so the span has
   * its stage process's resource. On an app's provider, the app's tracer.
   */
  tracerFor: (resource: Resource) => Tracer;
}

/**
 * Wires the spans of a process: on stagetrace's own provider, every stage
 * span goes to the manifest exporter and, with an endpoint, to the batched
 * OTLP export; on an app's provider (`tracerProvider`), its SDK exports the
 * spans and carries stageSpanProcessors() for the manifests.
 */
export function stageTracing(
  config: ResolvedTelemetryConfig,
  resource: Resource,
  manifests: ManifestExporter,
  account: ExportAccount,
  options: { tracerProvider?: TracerProvider; spanProcessors?: SpanProcessor[] },
  warn: (message: string) => void,
): StageTracing {
  if (options.tracerProvider !== undefined) {
    const app = options.tracerProvider.getTracer(TRACER_NAME, VERSION, { schemaUrl: SCHEMA_URL });
    const tracer = new AppStageTracer(app, droppedStageRecorder(resource, warn));
    return { provider: null, tracer, processors: [], tracerFor: () => tracer };
  }
  const processors: SpanProcessor[] = [new ManifestSpanProcessor(manifests)];
  if (config.tracesUrl) processors.push(otlpSpanProcessor(config.tracesUrl, config, account, warn));
  if (config.tracesConsole) processors.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
  processors.push(...(options.spanProcessors ?? []));
  const sampler = new StageSampler(config.sampler);
  const providerFor = (resource: Resource) =>
    new SdkTracerProvider({
      resource,
      sampler,
      spanProcessors: processors,
      idGenerator,
      // The manifest is built from the span, so the span must keep every file
      // event and config attribute; what goes over OTLP is trimmed separately.
      // No OTEL_*_LIMIT variable may shorten it either: those limits apply on the wire only.
      spanLimits: UNLIMITED,
    });
  const provider = providerFor(resource);
  if (config.registerGlobal) registerTracing(provider, propagatorFor(config.propagators));
  // The others share this provider's processors, which its shutdown flushes and ends; they are never shut down themselves.
  const tracers = new Map<Resource, Tracer>();
  const tracerFor = (r: Resource): Tracer => {
    let tracer = tracers.get(r);
    if (tracer === undefined) tracers.set(r, (tracer = providerFor(r).getTracer(TRACER_NAME, VERSION, { schemaUrl: SCHEMA_URL })));
    return tracer;
  };
  return { provider, tracer: provider.getTracer(TRACER_NAME, VERSION, { schemaUrl: SCHEMA_URL }), processors, tracerFor };
}

const UNLIMITED = {
  attributeCountLimit: Infinity,
  attributeValueLengthLimit: Infinity,
  eventCountLimit: Infinity,
  attributePerEventCountLimit: Infinity,
};

/** Records a span and samples nothing: a span it starts has the trace state it is given and is not exported. */
class RecordOnlySampler implements Sampler {
  traceState: TraceState | undefined;
  shouldSample(): SamplingResult {
    return { decision: SamplingDecision.RECORD, ...(this.traceState ? { traceState: this.traceState } : {}) };
  }
  toString(): string {
    return "RecordOnlySampler";
  }
}

/**
 * Where the stage spans an app's sampler drops are recorded: a provider of
 * stagetrace's, made on first use, with no exporter (only the manifest
 * processors of stageSpanProcessors()), no span limits, and the ids and
 * trace state the app's tracer gave the span. Never registered globally.
 */
function droppedStageRecorder(resource: Resource, warn: (message: string) => void): RecordDroppedStage {
  const sampler = new RecordOnlySampler();
  let tracer: Tracer | undefined;
  return (ids, name, options, parent) => {
    tracer ??= new SdkTracerProvider({
      resource,
      sampler,
      idGenerator,
      spanProcessors: stageSpanProcessors({
        onWriteError: (path, err) =>
          warn(`could not write ${path}: ${(err as Error).message}. The stage goes on; its manifest is missing.`),
      }),
      spanLimits: UNLIMITED,
    }).getTracer(TRACER_NAME, VERSION, { schemaUrl: SCHEMA_URL });
    const start = () => tracer!.startSpan(name, options, parent);
    sampler.traceState = ids?.traceState;
    try {
      return ids ? withChosenIds(ids, start) : start();
    } finally {
      sampler.traceState = undefined;
    }
  };
}

/** The OTLP side of the spans: trimmed for the wire, batched, counted. */
export function otlpSpanProcessor(
  url: string,
  config: ResolvedTelemetryConfig,
  account: ExportAccount,
  warn: (message: string) => void,
): SpanProcessor {
  const options = {
    url,
    timeoutMillis: config.exportTimeoutMs,
    ...(config.tracesHeaders ? { headers: config.tracesHeaders } : {}),
  };
  const protocol = config.tracesProtocol;
  const httpOptions = { ...options, httpAgentOptions: otlpAgentFactory(config.tracesTls, warn) };
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
  const trimming = new TrimmingCountingExporter(exporter, account, config.otlpMaxEventsPerSpan, config.otlpAttributeValueLengthLimit);
  const batch = new BatchSpanProcessor({ exporter: trimming, ...config.bsp });
  return new CountingSpanProcessor(batch, account);
}

/**
 * For apps that already run their own OpenTelemetry SDK: the span
 * processors that write manifests (and, with an endpoint, nothing else: the
 * app's own exporters send the spans). Add them to the app's provider. The
 * manifest is built from each stage's own record, so it is complete whatever
 * the provider's span limits; what they dropped from the exported span is
 * counted in the manifest's `telemetry.events_omitted` and said on stderr.
 */
export function stageSpanProcessors(options: { onWriteError?: (path: string, error: unknown) => void } = {}): SpanProcessor[] {
  const exporter = new ManifestExporter({
    onWriteError: options.onWriteError,
    logsOnly: true,
    // The app's provider keeps at most its eventCountLimit events a span (128 by default).
    onEventsDropped: (stage, dropped) =>
      appWarn(
        `stage ${stage}: the tracer provider's span limits dropped ${dropped.events} events and ${dropped.attributes} attributes ` +
          "of its span, which is exported without them (manifest.json has them all, and counts the events in telemetry.events_omitted); " +
          "raise the provider's spanLimits (eventCountLimit, attributeCountLimit) to send them (see docs/configuration.md)",
      ),
  });
  appManifestExporters.add(exporter);
  return [new ManifestSpanProcessor(exporter)];
}

/** The manifest exporters of stageSpanProcessors(): telemetry records this process's log counts in their manifests at shutdown. */
export const appManifestExporters = new Set<ManifestExporter>();
const appWarn = warnOnce();
