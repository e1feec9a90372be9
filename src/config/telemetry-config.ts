import { StagetraceError } from "../errors.js";
import type { TelemetryOptions } from "../types.js";
import { envFlag, fromEnv, numberAtLeast, numberFromEnv, oneOf, type Env, type Warn } from "./env-rules.js";
import { stagetraceSettings } from "./stagetrace-settings.js";

export type { Warn } from "./env-rules.js";
export const DEFAULT_SERVICE_NAME = "stagetrace";

/** Telemetry options after option → env → default resolution. */
export interface ResolvedTelemetryConfig {
  tracesUrl: string | null;
  logsUrl: string | null;
  /** Where heartbeat metrics go (`<endpoint>/v1/metrics`, or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`). */
  metricsUrl: string | null;
  /** The OTLP protocol of each signal. */
  tracesProtocol: OtlpProtocol;
  metricsProtocol: OtlpProtocol;
  logsProtocol: OtlpProtocol;
  /** OTLP headers of each signal: the general ones, with the per-signal variable's keys winning. */
  headers: Record<string, string> | undefined;
  tracesHeaders: Record<string, string> | undefined;
  metricsHeaders: Record<string, string> | undefined;
  logsHeaders: Record<string, string> | undefined;
  serviceName: string;
  exitTimeoutMs: number;
  /** One span export's timeout (`OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, then `OTEL_EXPORTER_OTLP_TIMEOUT`, default 10 s), as set. */
  exportTimeoutMs: number;
  /** One heartbeat export's timeout (`OTEL_EXPORTER_OTLP_METRICS_TIMEOUT`, then `OTEL_EXPORTER_OTLP_TIMEOUT`). */
  metricsTimeoutMs: number;
  /** One log export's timeout (`OTEL_EXPORTER_OTLP_LOGS_TIMEOUT`, then `OTEL_EXPORTER_OTLP_TIMEOUT`). */
  logsTimeoutMs: number;
  /** The batch span processor's settings (`OTEL_BSP_*`). */
  bsp: BatchSettings;
  /** The batch log record processor's settings (`OTEL_BLRP_*`). */
  blrp: BatchSettings;
  /** Also print each signal on stdout (`OTEL_<SIGNAL>_EXPORTER` includes `console`). */
  tracesConsole: boolean;
  metricsConsole: boolean;
  logsConsole: boolean;
  /** `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`. */
  sampler: SamplerSetting;
  /** The W3C propagators `OTEL_PROPAGATORS` names (`tracecontext`, `baggage`), in order. */
  propagators: Propagator[];
  /** Files for TLS per signal (`OTEL_EXPORTER_OTLP_[<SIGNAL>_]CERTIFICATE`, `..._CLIENT_CERTIFICATE`, `..._CLIENT_KEY`). */
  tracesTls: TlsFiles;
  metricsTls: TlsFiles;
  logsTls: TlsFiles;
  otlpMaxEventsPerSpan: number;
  /**
   * The longest string attribute value sent over OTLP (`OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`,
   * then `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`); the span itself, and so the manifest, keeps the whole value.
   */
  otlpAttributeValueLengthLimit: number;
  registerGlobal: boolean;
  /** Finalize open stages and exit 130/143 on SIGINT/SIGTERM (see TelemetryOptions.handleSignals). */
  handleSignals: boolean;
}

type Signal = "TRACES" | "METRICS" | "LOGS";

export type OtlpProtocol = "http/json" | "http/protobuf" | "grpc";
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ["http/json", "http/protobuf", "grpc"];
/** The specification's default protocol, as the Node SDK has it. */
export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = "http/protobuf";

export interface BatchSettings {
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
  maxQueueSize: number;
  maxExportBatchSize: number;
}

export type Propagator = "tracecontext" | "baggage";

export interface SamplerSetting {
  /** One of the specification's built-in samplers. */
  name: "always_on" | "always_off" | "traceidratio" | "parentbased_always_on" | "parentbased_always_off" | "parentbased_traceidratio";
  /** The ratio of `traceidratio` samplers, 0 to 1. */
  ratio: number;
}

export interface TlsFiles {
  /** Root certificate(s) to trust, PEM. */
  ca?: string;
  /** Client certificate chain, PEM. */
  cert?: string;
  /** Client private key, PEM. */
  key?: string;
}

/**
 * stagetrace's batch span processor defaults. The delay is shorter than the
 * specification's 5 s: a stage process is often short and each span is
 * worth seeing while the pipeline still runs.
 */
export const BSP_DEFAULTS: BatchSettings = {
  scheduledDelayMillis: 500,
  exportTimeoutMillis: 30_000,
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
};
/**
 * stagetrace's batch log record processor defaults: a larger queue and
 * batches than the specification's (2048, 512), because a stage writes
 * log lines in bursts, and a shorter delay (200 ms rather than 1 s).
 */
export const BLRP_DEFAULTS: BatchSettings = {
  scheduledDelayMillis: 200,
  exportTimeoutMillis: 30_000,
  maxQueueSize: 16_384,
  maxExportBatchSize: 1024,
};
/** The specification's default OTLP export timeout. */
export const DEFAULT_OTLP_TIMEOUT_MS = 10_000;

/**
 * A signal's OTLP protocol: the `otlpProtocol` option, then
 * `OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL`, then `OTEL_EXPORTER_OTLP_PROTOCOL`,
 * then the specification's default, http/protobuf. A bad value warns,
 * naming the variable, and falls back to the default.
 */
function resolveProtocol(option: OtlpProtocol | undefined, env: Env, signal: Signal, warn: Warn): OtlpProtocol {
  if (option !== undefined) return option;
  const specific = `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`;
  const name = env[specific]?.trim() ? specific : "OTEL_EXPORTER_OTLP_PROTOCOL";
  return fromEnv(env, name, DEFAULT_OTLP_PROTOCOL, oneOf(OTLP_PROTOCOLS, "one of http/json, http/protobuf, grpc"), warn);
}

/** A whole number of milliseconds >= `min` from `env[name]`, else `fallback`; a bad value warns and falls back. */
function millisFromEnv(env: Env, names: readonly string[], fallback: number, min: number, warn: Warn): number {
  for (const name of names) {
    if (!env[name]?.trim()) continue;
    return Math.floor(numberFromEnv(env, name, fallback, { min, unit: "milliseconds" }, warn));
  }
  return fallback;
}

function batchSettings(env: Env, prefix: "OTEL_BSP" | "OTEL_BLRP", defaults: BatchSettings, warn: Warn): BatchSettings {
  const s: BatchSettings = {
    scheduledDelayMillis: millisFromEnv(env, [`${prefix}_SCHEDULE_DELAY`], defaults.scheduledDelayMillis, 0, warn),
    exportTimeoutMillis: millisFromEnv(env, [`${prefix}_EXPORT_TIMEOUT`], defaults.exportTimeoutMillis, 1, warn),
    maxQueueSize: Math.floor(numberFromEnv(env, `${prefix}_MAX_QUEUE_SIZE`, defaults.maxQueueSize, { min: 1, unit: "records" }, warn)),
    maxExportBatchSize: Math.floor(
      numberFromEnv(env, `${prefix}_MAX_EXPORT_BATCH_SIZE`, defaults.maxExportBatchSize, { min: 1, unit: "records" }, warn),
    ),
  };
  if (s.maxExportBatchSize > s.maxQueueSize) {
    warn(
      `${prefix}_MAX_EXPORT_BATCH_SIZE=${s.maxExportBatchSize} is larger than ${prefix}_MAX_QUEUE_SIZE=${s.maxQueueSize}; using ${s.maxQueueSize}`,
    );
    s.maxExportBatchSize = s.maxQueueSize;
  }
  return s;
}

const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

/** `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, as the specification reads them. */
export function resolveSampler(env: Env, warn: Warn): SamplerSetting {
  const fallback: SamplerSetting["name"] = "parentbased_always_on";
  const name = fromEnv(env, "OTEL_TRACES_SAMPLER", fallback, oneOf(SAMPLERS), warn);
  let ratio = 1;
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (arg && name.endsWith("traceidratio")) {
    const n = Number(arg);
    if (Number.isFinite(n) && n >= 0 && n <= 1) ratio = n;
    else warn(`OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(arg)} is not a ratio from 0 to 1; using 1`);
  }
  return { name, ratio };
}

/** `OTEL_PROPAGATORS`: `tracecontext` and `baggage` are honoured, `none` turns propagation off. */
export function resolvePropagators(env: Env, warn: Warn): Propagator[] {
  const raw = env.OTEL_PROPAGATORS?.trim();
  if (!raw) return ["tracecontext", "baggage"];
  const names = raw
    .split(",")
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean);
  if (names.includes("none")) return [];
  const out: Propagator[] = [];
  for (const n of names) {
    if (n === "tracecontext" || n === "baggage") {
      if (!out.includes(n)) out.push(n);
    } else warn(`OTEL_PROPAGATORS: ${JSON.stringify(n)} is not supported (stagetrace propagates tracecontext and baggage); ignoring it`);
  }
  return out;
}

let propagatorsOfEnv: { raw: string | undefined; names: Propagator[] } | undefined;
/**
 * `OTEL_PROPAGATORS` as the environment says it now (read at each use, so a
 * change is seen); the same list while the value is unchanged.
 */
export function currentPropagators(env: Env, warn: Warn): Propagator[] {
  const raw = env.OTEL_PROPAGATORS;
  if (propagatorsOfEnv === undefined || propagatorsOfEnv.raw !== raw) propagatorsOfEnv = { raw, names: resolvePropagators(env, warn) };
  return propagatorsOfEnv.names;
}

/** The TLS files of a signal: the per-signal variable, else the general one. */
function tlsFiles(env: Env, signal: Signal): TlsFiles {
  const pick = (suffix: string) =>
    env[`OTEL_EXPORTER_OTLP_${signal}_${suffix}`]?.trim() || env[`OTEL_EXPORTER_OTLP_${suffix}`]?.trim() || undefined;
  const out: TlsFiles = {};
  const ca = pick("CERTIFICATE");
  const cert = pick("CLIENT_CERTIFICATE");
  const key = pick("CLIENT_KEY");
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  return out;
}

function envUrl(env: Env, name: string, warn: Warn): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  try {
    return new URL(raw).toString();
  } catch {
    warn(`${name}=${JSON.stringify(raw)} is not a URL; ignoring it`);
    return undefined;
  }
}

function optionUrl(value: string | undefined, option: string): string | undefined {
  if (value === undefined) return undefined;
  try {
    return new URL(value).toString();
  } catch (err) {
    throw new StagetraceError("INVALID_OPTION", `${option}: ${JSON.stringify(value)} is not a URL`, { cause: err });
  }
}

function withPath(base: string | undefined, path: string): string | undefined {
  return base === undefined ? undefined : base.replace(/\/+$/, "") + path;
}

/** `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`, else `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, else no limit. */
function attributeValueLengthLimit(env: Env, warn: Warn): number {
  const name = env.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT?.trim()
    ? "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"
    : "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
  return Math.floor(fromEnv(env, name, Infinity, numberAtLeast(0, { above: true }), warn));
}

/** Longest key or value `OTEL_RESOURCE_ATTRIBUTES` may hold (the specification's limit, as the SDK's environment detector applies it). */
const MAX_RESOURCE_ATTRIBUTE_LENGTH = 255;

/**
 * The attributes of `OTEL_RESOURCE_ATTRIBUTES` (`key=value,...`, keys and
 * values percent-encoded), read as the specification and OpenTelemetry's
 * environment detector read them: a value that cannot be read (an
 * unencoded `=`, an empty key, a bad escape, a key or value over 255
 * characters) discards the whole variable. Used for this process and for a
 * stage process whose records the run's agent exports, so both get the same.
 */
export function resourceAttributesFromEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (env.OTEL_RESOURCE_ATTRIBUTES ?? "").split(",")) {
    if (pair.trim() === "") continue;
    const parts = pair.split("=");
    if (parts.length !== 2 || parts[0]!.trim() === "") return {};
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(parts[0]!.trim());
      value = decodeURIComponent(parts[1]!.trim());
    } catch {
      return {};
    }
    if (key.length > MAX_RESOURCE_ATTRIBUTE_LENGTH || value.length > MAX_RESOURCE_ATTRIBUTE_LENGTH) return {};
    out[key] = value;
  }
  return out;
}

/** The service name of a process with this environment: `OTEL_SERVICE_NAME`, then `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, then `stagetrace`. */
export function serviceNameFromEnv(env: Env): string {
  return env.OTEL_SERVICE_NAME?.trim() || resourceAttributesFromEnv(env)["service.name"] || DEFAULT_SERVICE_NAME;
}

/** `OTEL_EXPORTER_OTLP_HEADERS` with `OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS` on top: for a key in both, the per-signal value wins. */
function signalHeaders(env: Env, signal: Signal): Record<string, string> | undefined {
  const general = parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS);
  const specific = parseHeaders(env[`OTEL_EXPORTER_OTLP_${signal}_HEADERS`]);
  return general || specific ? { ...general, ...specific } : undefined;
}

function onceEach(warn: Warn): Warn {
  const said = new Set<string>();
  return (m) => {
    if (said.has(m)) return;
    said.add(m);
    warn(m);
  };
}

function parseHeaders(raw: string | undefined): Record<string, string> | undefined {
  if (!raw?.trim()) return undefined;
  const out: Record<string, string> = {};
  for (const pair of raw.split(",")) {
    const i = pair.indexOf("=");
    if (i > 0) out[decodeURIComponent(pair.slice(0, i).trim())] = decodeURIComponent(pair.slice(i + 1).trim());
  }
  return out;
}

export function resolveTelemetryConfig(options: TelemetryOptions, env: Env, warn: Warn): ResolvedTelemetryConfig {
  const base = optionUrl(options.otlpEndpoint, "otlpEndpoint");
  const envBase = envUrl(env, "OTEL_EXPORTER_OTLP_ENDPOINT", warn);
  const tracesUrl =
    optionUrl(options.otlpTracesEndpoint, "otlpTracesEndpoint") ??
    withPath(base, "/v1/traces") ??
    envUrl(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", warn) ??
    withPath(envBase, "/v1/traces") ??
    null;
  const logsUrl =
    optionUrl(options.otlpLogsEndpoint, "otlpLogsEndpoint") ??
    withPath(base, "/v1/logs") ??
    envUrl(env, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", warn) ??
    withPath(envBase, "/v1/logs") ??
    null;
  const metricsUrl =
    withPath(base, "/v1/metrics") ?? envUrl(env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", warn) ?? withPath(envBase, "/v1/metrics") ?? null;

  // Each signal's protocol is resolved on its own, so a bad general value warns once.
  const warnOnce = onceEach(warn);
  if (options.otlpProtocol !== undefined && !OTLP_PROTOCOLS.includes(options.otlpProtocol)) {
    throw new StagetraceError(
      "INVALID_OPTION",
      `otlpProtocol must be one of ${OTLP_PROTOCOLS.join(", ")}, got ${JSON.stringify(options.otlpProtocol)}`,
    );
  }
  const tracesProtocol = resolveProtocol(options.otlpProtocol, env, "TRACES", warnOnce);
  const metricsProtocol = resolveProtocol(options.otlpProtocol, env, "METRICS", warnOnce);
  const logsProtocol = resolveProtocol(options.otlpProtocol, env, "LOGS", warnOnce);

  const settings = stagetraceSettings(env, warn);
  const exitTimeoutMs = settings.exitTimeoutMs(options.exitTimeoutMs);
  // The timeout a user sets is the one each export gets; the exit bound is
  // kept by how shutdown is scheduled (see Telemetry.shutdown), not by
  // shortening it. Unset, it is the specification's 10 s but at most half
  // the exit bound: the exporter's own retries (against a backend that
  // refuses or throttles) then end within the bound too.
  const defaultTimeout = Math.max(50, Math.min(DEFAULT_OTLP_TIMEOUT_MS, Math.floor(exitTimeoutMs / 2)));
  const timeout = (signal: Signal) =>
    millisFromEnv(env, [`OTEL_EXPORTER_OTLP_${signal}_TIMEOUT`, "OTEL_EXPORTER_OTLP_TIMEOUT"], defaultTimeout, 1, warnOnce);

  // OTEL_SDK_DISABLED and OTEL_<SIGNAL>S_EXPORTER=none turn the export of a
  // signal off; the local files (manifest, stage.log, pipeline log) stay.
  const sdkDisabled = envFlag(env, "OTEL_SDK_DISABLED", false, warn);
  const exporters = (signal: Signal): { otlp: boolean; console: boolean } => {
    if (sdkDisabled) return { otlp: false, console: false };
    const name = `OTEL_${signal}_EXPORTER`;
    const raw = env[name]?.trim().toLowerCase();
    if (!raw) return { otlp: true, console: false };
    const names = raw
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean);
    if (names.includes("none")) return { otlp: false, console: false };
    const out = { otlp: names.includes("otlp"), console: names.includes("console") };
    const unknown = names.filter((n) => n !== "otlp" && n !== "console");
    if (unknown.length > 0) {
      const kept = out.otlp || out.console;
      warn(
        `${name}=${JSON.stringify(env[name])}: ${unknown.join(", ")} is not supported (stagetrace exports otlp, console or none); ${kept ? "ignoring it" : "using otlp"}`,
      );
      if (!kept) out.otlp = true;
    }
    return out;
  };
  const traces = exporters("TRACES");
  const metrics = exporters("METRICS");
  const logs = exporters("LOGS");

  return {
    tracesUrl: traces.otlp ? tracesUrl : null,
    logsUrl: logs.otlp ? logsUrl : null,
    metricsUrl: metrics.otlp ? metricsUrl : null,
    tracesConsole: traces.console,
    metricsConsole: metrics.console,
    logsConsole: logs.console,
    tracesProtocol,
    metricsProtocol,
    logsProtocol,
    headers: options.otlpHeaders ?? parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
    tracesHeaders: options.otlpHeaders ?? signalHeaders(env, "TRACES"),
    metricsHeaders: options.otlpHeaders ?? signalHeaders(env, "METRICS"),
    logsHeaders: options.otlpHeaders ?? signalHeaders(env, "LOGS"),
    serviceName: options.serviceName ?? serviceNameFromEnv(env),
    exitTimeoutMs,
    exportTimeoutMs: timeout("TRACES"),
    metricsTimeoutMs: timeout("METRICS"),
    logsTimeoutMs: timeout("LOGS"),
    bsp: batchSettings(env, "OTEL_BSP", BSP_DEFAULTS, warn),
    blrp: batchSettings(env, "OTEL_BLRP", BLRP_DEFAULTS, warn),
    sampler: resolveSampler(env, warn),
    propagators: resolvePropagators(env, warn),
    tracesTls: tlsFiles(env, "TRACES"),
    metricsTls: tlsFiles(env, "METRICS"),
    logsTls: tlsFiles(env, "LOGS"),
    otlpMaxEventsPerSpan: settings.otlpMaxEventsPerSpan(options.otlpMaxEventsPerSpan),
    otlpAttributeValueLengthLimit: attributeValueLengthLimit(env, warn),
    registerGlobal: options.registerGlobal ?? true,
    handleSignals: settings.handleSignals(options.handleSignals),
  };
}
