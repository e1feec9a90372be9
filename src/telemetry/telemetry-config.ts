import { StagetraceError } from "../errors.js";
import type { TelemetryOptions } from "../types.js";

export const DEFAULT_EXIT_TIMEOUT_MS = 3000;
export const DEFAULT_OTLP_MAX_EVENTS = 1000;
export const DEFAULT_SERVICE_NAME = "stagetrace";

/** Telemetry options after option → env → default resolution. */
export interface ResolvedTelemetryConfig {
  tracesUrl: string | null;
  logsUrl: string | null;
  /** Where heartbeat metrics go (`<endpoint>/v1/metrics`, or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`). */
  metricsUrl: string | null;
  /** The OTLP protocol of each signal: `http` is OTLP/HTTP with JSON. */
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
  /** Per-export timeout, kept under the exit bound so no request outlives it. */
  exportTimeoutMs: number;
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

export type Warn = (message: string) => void;

export type OtlpProtocol = "http" | "http/protobuf" | "grpc";

/**
 * A signal's OTLP protocol: `OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL`, then
 * `OTEL_EXPORTER_OTLP_PROTOCOL`, then OTLP/HTTP JSON (the specification's
 * default is http/protobuf; see docs/configuration.md for why this differs).
 * A bad value warns, naming the variable, and falls back.
 */
function resolveProtocol(env: NodeJS.ProcessEnv, signal: "TRACES" | "METRICS" | "LOGS", warn: Warn): OtlpProtocol {
  const specific = `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`;
  const name = env[specific]?.trim() ? specific : env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() ? "OTEL_EXPORTER_OTLP_PROTOCOL" : null;
  if (!name) return "http";
  const raw = env[name]!.trim();
  if (raw === "http/protobuf" || raw === "grpc") return raw;
  if (raw === "http/json" || raw === "http") return "http";
  warn(`${name}=${JSON.stringify(raw)} is not one of http/json, http/protobuf, grpc; using http/json`);
  return "http";
}

/** OTLP headers as the gRPC exporters take them (loads @grpc/grpc-js, which only they use). */
export async function grpcMetadata(headers: Record<string, string>): Promise<import("@grpc/grpc-js").Metadata> {
  const { Metadata } = await import("@grpc/grpc-js");
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return metadata;
}

/** The endpoint a gRPC exporter takes: scheme, host and port, without the OTLP/HTTP path. */
export function grpcEndpoint(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

function envUrl(env: NodeJS.ProcessEnv, name: string, warn: Warn): string | undefined {
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

function positiveInt(
  option: number | undefined,
  optionName: string,
  env: NodeJS.ProcessEnv,
  envName: string,
  fallback: number,
  warn: Warn,
): number {
  if (option !== undefined) {
    if (!Number.isFinite(option) || option <= 0) {
      throw new StagetraceError("INVALID_OPTION", `${optionName} must be a number > 0, got ${option}`);
    }
    return Math.floor(option);
  }
  const raw = env[envName]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    warn(`${envName}=${JSON.stringify(raw)} is not a number > 0; using ${fallback}`);
    return fallback;
  }
  return Math.floor(n);
}

/**
 * A number from `env[name]`: `fallback` when unset; a value that is not a
 * finite number at least `min` (above `min` when `above` is set) warns,
 * naming the variable, and falls back. One rule for every numeric variable.
 */
export function numberFromEnv<F extends number | null>(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: F,
  bound: { min: number; above?: boolean; unit: string },
  warn: Warn,
): number | F {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (Number.isFinite(n) && (bound.above ? n > bound.min : n >= bound.min)) return n;
  warn(`${name}=${JSON.stringify(raw)} is not a number of ${bound.unit} ${bound.above ? ">" : ">="} ${bound.min}; using ${fallback ?? "none"}`);
  return fallback;
}

/** A yes/no environment value (`1`/`0`, `true`/`false`, `on`/`off`, `yes`/`no`); a bad one warns and falls back. */
export function envFlag(env: NodeJS.ProcessEnv, name: string, fallback: boolean, warn: Warn): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (["1", "true", "on", "yes"].includes(raw)) return true;
  if (["0", "false", "off", "no"].includes(raw)) return false;
  warn(`${name}=${JSON.stringify(env[name])} is not 1 or 0; using ${fallback ? 1 : 0}`);
  return fallback;
}

/** `service.name` in `OTEL_RESOURCE_ATTRIBUTES` (`key=value,...`, values percent-encoded), as the specification reads it. */
function serviceNameFromResourceAttributes(raw: string | undefined): string | undefined {
  for (const pair of raw?.split(",") ?? []) {
    const i = pair.indexOf("=");
    if (i > 0 && pair.slice(0, i).trim() === "service.name") {
      try {
        return decodeURIComponent(pair.slice(i + 1).trim()) || undefined;
      } catch {
        return pair.slice(i + 1).trim() || undefined;
      }
    }
  }
  return undefined;
}

/** `OTEL_EXPORTER_OTLP_HEADERS` with `OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS` on top: for a key in both, the per-signal value wins. */
function signalHeaders(env: NodeJS.ProcessEnv, signal: "TRACES" | "METRICS" | "LOGS"): Record<string, string> | undefined {
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

export function resolveTelemetryConfig(
  options: TelemetryOptions,
  env: NodeJS.ProcessEnv,
  warn: Warn,
): ResolvedTelemetryConfig {
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
  const tracesProtocol = resolveProtocol(env, "TRACES", warnOnce);
  const metricsProtocol = resolveProtocol(env, "METRICS", warnOnce);
  const logsProtocol = resolveProtocol(env, "LOGS", warnOnce);

  const exitTimeoutMs = positiveInt(options.exitTimeoutMs, "exitTimeoutMs", env, "STAGETRACE_EXIT_TIMEOUT_MS", DEFAULT_EXIT_TIMEOUT_MS, warn);
  const otlpTimeout = positiveInt(undefined, "", env, "OTEL_EXPORTER_OTLP_TIMEOUT", 10_000, warn);
  // One export (with its retries) may take at most half the exit bound: at
  // shutdown, one export already on the wire plus one final flush fit in it.
  const exportTimeoutMs = Math.max(50, Math.min(otlpTimeout, Math.floor(exitTimeoutMs / 2)));

  // OTEL_SDK_DISABLED and OTEL_<SIGNAL>S_EXPORTER=none turn the export of a
  // signal off; the local files (manifest, stage.log, pipeline log) stay.
  const sdkDisabled = envFlag(env, "OTEL_SDK_DISABLED", false, warn);
  const exporting = (signal: "TRACES" | "METRICS" | "LOGS"): boolean => {
    if (sdkDisabled) return false;
    const name = `OTEL_${signal}_EXPORTER`;
    const raw = env[name]?.trim().toLowerCase();
    if (!raw || raw === "otlp") return true;
    if (raw === "none") return false;
    warn(`${name}=${JSON.stringify(env[name])} is not supported (stagetrace exports otlp or none); using otlp`);
    return true;
  };

  return {
    tracesUrl: exporting("TRACES") ? tracesUrl : null,
    logsUrl: exporting("LOGS") ? logsUrl : null,
    metricsUrl: exporting("METRICS") ? metricsUrl : null,
    tracesProtocol,
    metricsProtocol,
    logsProtocol,
    headers: options.otlpHeaders ?? parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
    tracesHeaders: options.otlpHeaders ?? signalHeaders(env, "TRACES"),
    metricsHeaders: options.otlpHeaders ?? signalHeaders(env, "METRICS"),
    logsHeaders: options.otlpHeaders ?? signalHeaders(env, "LOGS"),
    serviceName: options.serviceName ?? (env.OTEL_SERVICE_NAME?.trim() || serviceNameFromResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES) || DEFAULT_SERVICE_NAME),
    exitTimeoutMs,
    exportTimeoutMs,
    otlpMaxEventsPerSpan: positiveInt(
      options.otlpMaxEventsPerSpan,
      "otlpMaxEventsPerSpan",
      env,
      "STAGETRACE_OTLP_MAX_EVENTS",
      DEFAULT_OTLP_MAX_EVENTS,
      warn,
    ),
    otlpAttributeValueLengthLimit: positiveInt(
      undefined,
      "",
      env,
      env.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT?.trim() ? "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT" : "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
      Infinity,
      warn,
    ),
    registerGlobal: options.registerGlobal ?? true,
    handleSignals: options.handleSignals ?? envFlag(env, "STAGETRACE_HANDLE_SIGNALS", true, warn),
  };
}
