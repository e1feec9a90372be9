// Which OTLP protocol each signal uses, chosen the way the specification
// says: OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL, then OTEL_EXPORTER_OTLP_PROTOCOL.
// Protobuf payloads are decoded with protobufjs from the official
// opentelemetry-proto definitions (test/fixtures/otlp-proto, unchanged); gRPC
// against the real Collector is in test/real-stack/otlp-protocols.test.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { afterEach, describe, expect, it } from "vitest";
import { resolveTelemetryConfig } from "../../src/config/telemetry-config.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedRequest } from "../support/otlp-receiver.js";
import { spawnStage } from "../support/spawn-stage.js";
import { tempDir } from "../support/tmp.js";

const PROTO_ROOT = fileURLToPath(new URL("../fixtures/otlp-proto/", import.meta.url));
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith("/") ? target : PROTO_ROOT + target);
root.loadSync([
  "opentelemetry/proto/collector/trace/v1/trace_service.proto",
  "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
  "opentelemetry/proto/collector/logs/v1/logs_service.proto",
]);
const TYPES = {
  "/v1/traces": root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"),
  "/v1/metrics": root.lookupType("opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest"),
  "/v1/logs": root.lookupType("opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest"),
} as const;
type Path = keyof typeof TYPES;

function decode(r: ReceivedRequest): any {
  return TYPES[r.path as Path].toObject(TYPES[r.path as Path].decode(r.rawBody), { longs: String, bytes: String, defaults: false });
}

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function runFixture(env: Record<string, string>) {
  receiver = await startOtlpReceiver();
  const result = await spawnStage({
    OUTPUT_DIR: tempDir(),
    FIXTURE_STAGE: "proto",
    FIXTURE_LINES: "2",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    STAGETRACE_HEARTBEAT_INTERVAL_MS: "200",
    ...env,
  });
  expect(result.code, result.stderr).toBe(0);
  const by = (path: Path) => receiver!.requests.filter((r) => r.path === path && r.rawBody.length > 0);
  return { traces: by("/v1/traces"), metrics: by("/v1/metrics"), logs: by("/v1/logs") };
}

const contentTypes = (rs: ReceivedRequest[]) => [...new Set(rs.map((r) => String(r.headers["content-type"]).split(";")[0]))];

describe("OTLP protocol per signal", () => {
  it("http/protobuf for all three signals from OTEL_EXPORTER_OTLP_PROTOCOL, decodable with the official .proto files", async () => {
    const { traces, metrics, logs } = await runFixture({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" });
    for (const [name, rs] of Object.entries({ traces, metrics, logs })) {
      expect(rs.length, name).toBeGreaterThan(0);
      expect(contentTypes(rs), name).toEqual(["application/x-protobuf"]);
    }
    const spans = traces.flatMap((r) => decode(r).resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)));
    expect(spans.map((s: any) => s.name)).toContain("stage proto");
    const metricNames = metrics.flatMap((r) =>
      decode(r).resourceMetrics.flatMap((rm: any) => rm.scopeMetrics.flatMap((sm: any) => sm.metrics.map((m: any) => m.name))),
    );
    expect(metricNames).toEqual(
      expect.arrayContaining(["stagetrace.stage.active", "stagetrace.stage.progress", "stagetrace.stage.stall_after"]),
    );
    const bodies = logs.flatMap((r) =>
      decode(r).resourceLogs.flatMap((rl: any) => rl.scopeLogs.flatMap((sl: any) => sl.logRecords.map((l: any) => l.body?.stringValue))),
    );
    expect(bodies).toContain("info line 1");
  });

  it("a per-signal variable beats the general one", async () => {
    const { traces, metrics, logs } = await runFixture({
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
    });
    expect(contentTypes(traces)).toEqual(["application/json"]);
    expect(receiver!.spans().map((s) => s.name)).toContain("stage proto");
    expect(contentTypes(metrics)).toEqual(["application/x-protobuf"]);
    expect(contentTypes(logs)).toEqual(["application/x-protobuf"]);
  });

  it("without a protocol variable every signal is http/protobuf, the specification's default", async () => {
    const { traces, metrics, logs } = await runFixture({});
    for (const rs of [traces, metrics, logs]) expect(contentTypes(rs)).toEqual(["application/x-protobuf"]);
    expect(receiver!.spans().map((s) => s.name)).toContain("stage proto");
  });

  it("http/json for all three signals, spans through @opentelemetry/exporter-trace-otlp-http", async () => {
    const { traces, metrics, logs } = await runFixture({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" });
    for (const rs of [traces, metrics, logs]) expect(contentTypes(rs)).toEqual(["application/json"]);
    // That exporter names itself in its User-Agent.
    expect(String(traces[0]!.headers["user-agent"])).toMatch(/OTel-OTLP-Exporter-JavaScript/);
  });

  it("headers: OTEL_EXPORTER_OTLP_HEADERS on every signal, a per-signal variable's value winning for its key", async () => {
    const { traces, metrics, logs } = await runFixture({
      OTEL_EXPORTER_OTLP_HEADERS: "x-team=media,x-key=general",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-key=traces%20only",
    });
    for (const r of traces) expect(r.headers).toMatchObject({ "x-team": "media", "x-key": "traces only" });
    for (const r of [...metrics, ...logs]) expect(r.headers).toMatchObject({ "x-team": "media", "x-key": "general" });
    expect(traces.length * metrics.length * logs.length).toBeGreaterThan(0);
  });

  it("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT shortens values on the wire only: the manifest stays whole and in its place", async () => {
    receiver = await startOtlpReceiver();
    const run = tempDir();
    const result = await spawnStage({
      OUTPUT_DIR: run,
      FIXTURE_STAGE: "proto",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "8",
    });
    expect(result.code, result.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(run, "proto", "manifest.json"), "utf8"));
    expect(manifest.status).toBe("success");
    expect(manifest.outputs[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.outputs[0].path).toBe(join(run, "proto", "out.txt"));
    await receiver.waitFor((r) => r.spans().length > 0);
    const span = receiver.spans().find((s) => s.name === "stage proto")!;
    expect(String(span.attributes["stagetrace.stage.dir"])).toHaveLength(8);
    const file = span.events.find((e) => e.name === "stagetrace.file")!;
    expect(String(file.attributes!["stagetrace.file.sha256"])).toBe(manifest.outputs[0].hash.slice(0, 8));
  });

  it("a bad value warns once, naming the variable, and falls back to http/protobuf", () => {
    const warnings: string[] = [];
    const c = resolveTelemetryConfig({}, { OTEL_EXPORTER_OTLP_PROTOCOL: "carrier-pigeon", OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: "grpc" }, (m) =>
      warnings.push(m),
    );
    expect(c).toMatchObject({ tracesProtocol: "http/protobuf", metricsProtocol: "http/protobuf", logsProtocol: "grpc" });
    expect(warnings).toEqual([
      'OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon" is not one of http/json, http/protobuf, grpc; using http/protobuf',
    ]);
  });

  it("the otlpProtocol option beats the variables", () => {
    const c = resolveTelemetryConfig({ otlpProtocol: "http/json" }, { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" }, () => {});
    expect(c).toMatchObject({ tracesProtocol: "http/json", metricsProtocol: "http/json", logsProtocol: "http/json" });
  });
});
