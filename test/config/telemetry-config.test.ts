import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveRunDir, resolveStageNumber } from "../../src/run/run-directory.js";
import { resolveTelemetryConfig, resourceAttributesFromEnv } from "../../src/config/telemetry-config.js";
import { envDetector } from "@opentelemetry/resources";
import { DEFAULT_STALL_AFTER_S } from "../../src/config/stagetrace-settings.js";
import { resolveHeartbeatConfig } from "../../src/telemetry/heartbeat.js";

const noWarn = (m: string) => {
  throw new Error(`unexpected warning: ${m}`);
};

describe("run directory: option, then OUTPUT_DIR, then STAGETRACE_RUN_DIR, then ./out/run-<start>", () => {
  const start = new Date("2026-11-23T10:20:30.456Z");
  it.each([
    ["the option", "/opt/run", { OUTPUT_DIR: "/a", STAGETRACE_RUN_DIR: "/b" }, "/opt/run"],
    ["OUTPUT_DIR", undefined, { OUTPUT_DIR: "/a", STAGETRACE_RUN_DIR: "/b" }, "/a"],
    ["STAGETRACE_RUN_DIR", undefined, { STAGETRACE_RUN_DIR: "/b" }, "/b"],
    ["the default", undefined, {}, resolve(join("out", "run-2026-11-23T10-20-30-456Z"))],
  ])("%s wins", (_n, option, env, expected) => {
    expect(resolveRunDir(option, env, start)).toBe(expected);
  });

  it("stage number: option, else position in the list, else none", () => {
    expect(resolveStageNumber("asr", 9, ["demux", "asr"])).toBe(9);
    expect(resolveStageNumber("asr", undefined, ["demux", "asr"])).toBe(2);
    expect(resolveStageNumber("asr", undefined, null)).toBeNull();
    expect(() => resolveStageNumber("asr", -1, null)).toThrow(/stageNumber must be a whole number/);
  });
});

describe("telemetry config: option, then environment, then default", () => {
  it("has local-only defaults with a 3 s exit bound", () => {
    const c = resolveTelemetryConfig({}, {}, noWarn);
    expect(c).toMatchObject({ tracesUrl: null, logsUrl: null, exitTimeoutMs: 3000, exportTimeoutMs: 1500, serviceName: "stagetrace" });
  });

  it("derives signal URLs from the base endpoint; specific beats general, options beat env", () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://env:4318/", OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://logs:4318/v1/logs" };
    expect(resolveTelemetryConfig({}, env, noWarn)).toMatchObject({
      tracesUrl: "http://env:4318/v1/traces",
      logsUrl: "http://logs:4318/v1/logs",
    });
    expect(resolveTelemetryConfig({ otlpEndpoint: "http://opt:4318" }, env, noWarn)).toMatchObject({
      tracesUrl: "http://opt:4318/v1/traces",
      logsUrl: "http://opt:4318/v1/logs",
    });
  });

  it("keeps the export timeout the user set, whatever the exit bound; a per-signal timeout beats the general one", () => {
    const c = resolveTelemetryConfig(
      { exitTimeoutMs: 1000 },
      { OTEL_EXPORTER_OTLP_TIMEOUT: "20000", OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: "7000", STAGETRACE_EXIT_TIMEOUT_MS: "9000" },
      noWarn,
    );
    expect(c).toMatchObject({ exitTimeoutMs: 1000, exportTimeoutMs: 20_000, metricsTimeoutMs: 20_000, logsTimeoutMs: 7000 });
  });

  it("warns about a bad environment value and falls back; throws on a bad option", () => {
    const warnings: string[] = [];
    const c = resolveTelemetryConfig({}, { STAGETRACE_EXIT_TIMEOUT_MS: "soon", OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" }, (m) =>
      warnings.push(m),
    );
    expect(c.exitTimeoutMs).toBe(3000);
    expect(c.tracesUrl).toBeNull();
    expect(warnings).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT="not a url" is not a URL; ignoring it',
      'STAGETRACE_EXIT_TIMEOUT_MS="soon" is not a number > 0; using 3000',
    ]);
    expect(() => resolveTelemetryConfig({ exitTimeoutMs: 0 }, {}, noWarn)).toThrow(/exitTimeoutMs must be a number > 0/);
    expect(() => resolveTelemetryConfig({ otlpEndpoint: "nope" }, {}, noWarn)).toThrow(/otlpEndpoint: "nope" is not a URL/);
  });
});

describe("heartbeat thresholds: STAGETRACE_STALL_AFTER_S and STAGETRACE_EXPECTED_DURATION_S", () => {
  const base = { metricsUrl: "http://c:4318/v1/metrics", exportTimeoutMs: 1500, headers: undefined };
  it("default to 30 minutes without progress and no expected duration", () => {
    expect(resolveHeartbeatConfig({}, {}, base, noWarn)).toMatchObject({ stallAfterS: DEFAULT_STALL_AFTER_S, expectedDurationS: null });
    expect(DEFAULT_STALL_AFTER_S).toBe(1800);
  });

  it("take whole or fractional seconds from the environment", () => {
    const c = resolveHeartbeatConfig({}, { STAGETRACE_STALL_AFTER_S: "90", STAGETRACE_EXPECTED_DURATION_S: "2.5" }, base, noWarn);
    expect(c).toMatchObject({ stallAfterS: 90, expectedDurationS: 2.5 });
  });

  it.each(["0", "-5", "soon", "Infinity"])("warn about %j, naming the variable, and fall back", (raw) => {
    const warnings: string[] = [];
    const c = resolveHeartbeatConfig({}, { STAGETRACE_STALL_AFTER_S: raw, STAGETRACE_EXPECTED_DURATION_S: raw }, base, (m) =>
      warnings.push(m),
    );
    expect(c).toMatchObject({ stallAfterS: 1800, expectedDurationS: null });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(`STAGETRACE_STALL_AFTER_S=${JSON.stringify(raw)}`);
    expect(warnings[1]).toContain(`STAGETRACE_EXPECTED_DURATION_S=${JSON.stringify(raw)}`);
  });
});

describe("service name: option, then OTEL_SERVICE_NAME, then service.name in OTEL_RESOURCE_ATTRIBUTES, then stagetrace", () => {
  it.each([
    ["the option", { serviceName: "opt" }, { OTEL_SERVICE_NAME: "env", OTEL_RESOURCE_ATTRIBUTES: "service.name=res" }, "opt"],
    ["OTEL_SERVICE_NAME", {}, { OTEL_SERVICE_NAME: "env", OTEL_RESOURCE_ATTRIBUTES: "service.name=res" }, "env"],
    [
      "OTEL_RESOURCE_ATTRIBUTES",
      {},
      { OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,service.name=subtitles%20job" },
      "subtitles job",
    ],
    ["the default", {}, { OTEL_RESOURCE_ATTRIBUTES: "team=media" }, "stagetrace"],
  ])("%s wins", (_n, options, env, expected) => {
    expect(resolveTelemetryConfig(options, env, noWarn).serviceName).toBe(expected);
  });
});

describe("OTEL_RESOURCE_ATTRIBUTES, read as the specification and the SDK's environment detector read it", () => {
  it.each([
    ["pairs, trimmed and percent-decoded", " team = media ,note=a%2Cb%3Dc,,", { team: "media", note: "a,b=c" }],
    ["an unencoded = discards the whole variable", "team=media,bad=a=b", {}],
    ["an empty key discards it", "team=media,=x", {}],
    ["a bad escape discards it", "team=media,x=%zz", {}],
    ["a value over 255 characters discards it", `team=media,x=${"v".repeat(256)}`, {}],
  ])("%s", (_n, raw, expected) => {
    expect(resourceAttributesFromEnv({ OTEL_RESOURCE_ATTRIBUTES: raw })).toEqual(expected);
    // The envDetector of @opentelemetry/resources reads the same value the same way.
    const saved = process.env.OTEL_RESOURCE_ATTRIBUTES;
    process.env.OTEL_RESOURCE_ATTRIBUTES = raw;
    try {
      expect(envDetector.detect().attributes).toEqual(expected);
    } finally {
      if (saved === undefined) delete process.env.OTEL_RESOURCE_ATTRIBUTES;
      else process.env.OTEL_RESOURCE_ATTRIBUTES = saved;
    }
  });
});

describe("OTEL_SDK_DISABLED and OTEL_<SIGNAL>S_EXPORTER", () => {
  const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
  it("OTEL_SDK_DISABLED=true exports nothing", () => {
    expect(resolveTelemetryConfig({}, { ...endpoint, OTEL_SDK_DISABLED: "true" }, noWarn)).toMatchObject({
      tracesUrl: null,
      logsUrl: null,
      metricsUrl: null,
    });
  });

  it("none turns one signal off; otlp keeps it", () => {
    const c = resolveTelemetryConfig({}, { ...endpoint, OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "otlp" }, noWarn);
    expect(c).toMatchObject({ tracesUrl: null, logsUrl: "http://c:4318/v1/logs", metricsUrl: "http://c:4318/v1/metrics" });
    expect(resolveTelemetryConfig({}, { ...endpoint, OTEL_METRICS_EXPORTER: "none" }, noWarn).metricsUrl).toBeNull();
  });

  it("an exporter stagetrace does not have warns, naming the variable, and keeps otlp", () => {
    const warnings: string[] = [];
    const c = resolveTelemetryConfig({}, { ...endpoint, OTEL_TRACES_EXPORTER: "zipkin" }, (m) => warnings.push(m));
    expect(c.tracesUrl).toBe("http://c:4318/v1/traces");
    expect(warnings).toEqual([
      'OTEL_TRACES_EXPORTER="zipkin": zipkin is not supported (stagetrace exports otlp, console or none); using otlp',
    ]);
  });
});
