// Every OTEL_* variable stagetrace reads, as one table: what the
// specification says, what stagetrace does, and why where the two differ.
// Each row's check runs a real stage process against the in-process OTLP
// receiver (protobuf bodies decoded by protobufjs from the official .proto
// files) and reads its files back; the table in docs/configuration.md is
// this table, checked below (UPDATE_OTEL_TABLE=1 rewrites it).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { resolveTelemetryConfig } from "../src/config/telemetry-config.js";
import { startOtlpReceiver, type OtlpReceiver } from "./support/otlp-receiver.js";
import { spawnStage, type StageProcessResult } from "./support/spawn-stage.js";
import { makeTlsFiles } from "./support/tls-files.js";
import { readJson, tempDir } from "./support/tmp.js";

const MULTI = fileURLToPath(new URL("./fixtures/multi-stage.mjs", import.meta.url));
const DOC = fileURLToPath(new URL("../docs/configuration.md", import.meta.url));

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

interface Run extends StageProcessResult {
  run: string;
  receiver: OtlpReceiver;
  manifest(stage?: string): any;
  /** The number of lines in the stage's stage.log: what the log export should have sent. */
  logLines(stage?: string): number;
  paths(path: string): ReturnType<OtlpReceiver["requests"]["filter"]>;
}

/** One stage process (the fixture stage `proto`, or `script`) with an endpoint and `env` on top. */
async function stage(
  env: Record<string, string> | ((receiverUrl: string) => Record<string, string>),
  script?: string,
  receiverOptions?: Parameters<typeof startOtlpReceiver>[0],
): Promise<Run> {
  receiver = await startOtlpReceiver(receiverOptions);
  const run = tempDir();
  const extra = typeof env === "function" ? env(receiver.url) : env;
  const r = await spawnStage(
    {
      OUTPUT_DIR: run,
      FIXTURE_STAGE: "proto",
      FIXTURE_LINES: "3",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      STAGETRACE_HEARTBEAT_INTERVAL_MS: "200",
      ...extra,
    },
    script,
  );
  expect(r.code, r.stderr).toBe(0);
  const rec = receiver;
  return {
    ...r,
    run,
    receiver: rec,
    manifest: (s = "proto") => readJson(join(run, s, "manifest.json")),
    logLines: (s = "proto") =>
      readFileSync(join(run, s, "stage.log"), "utf8")
        .split("\n")
        .filter(Boolean).length,
    paths: (path) => rec.requests.filter((q) => q.path === path && q.rawBody.length > 0),
  };
}

interface Row {
  variables: string;
  spec: string;
  stagetrace: string;
  why: string;
  check: () => Promise<void> | void;
}

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

const ROWS: Row[] = [
  {
    variables: "`OTEL_SDK_DISABLED`",
    spec: "`true` turns the SDK off",
    stagetrace: "`true` exports nothing",
    why: "the manifest, stage.log and the pipeline log are the stage's record, not telemetry: they are written all the same",
    async check() {
      const r = await stage({ OTEL_SDK_DISABLED: "true" });
      expect(r.receiver.requests).toEqual([]);
      expect(r.manifest()).toMatchObject({ status: "success", telemetry: { endpoint: null } });
      expect(readFileSync(join(r.run, "proto", "stage.log"), "utf8")).toContain("info line 1");
    },
  },
  {
    variables: "`OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`",
    spec: "`otlp` (default), `console`, `none`, or a comma-separated list",
    stagetrace: "the same; `zipkin`, `prometheus` and other names warn and are ignored (`otlp` when nothing else is left)",
    why: "stagetrace bundles the OTLP exporters only",
    async check() {
      const r = await stage({ OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "console,otlp", OTEL_METRICS_EXPORTER: "console" });
      expect(r.paths("/v1/traces")).toEqual([]);
      expect(r.paths("/v1/metrics")).toEqual([]);
      expect(r.receiver.logRecords().map((l) => l.body)).toContain("info line 1");
      // The console exporters print on stdout: the log records and the heartbeat metrics.
      expect(r.stdout).toContain("info line 1");
      expect(r.stdout).toContain("stagetrace.stage.active");
      const spans = await stage({ OTEL_TRACES_EXPORTER: "console", OTEL_LOGS_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" });
      expect(spans.receiver.requests).toEqual([]);
      expect(spans.stdout).toContain("'stage proto'");
      expect(spans.stdout).toContain(spans.manifest().trace.trace_id);
    },
  },
  {
    variables: "`OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_PROTOCOL`",
    spec: "`http/protobuf` (default), `http/json`, `grpc`; the per-signal variable wins",
    stagetrace:
      "the same (the `otlpProtocol` option beats both); `http/json` spans go through `@opentelemetry/exporter-trace-otlp-http`; only the exporter in use is loaded",
    why: "",
    async check() {
      const r = await stage({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: "http/json" });
      const type = (path: string) => [...new Set(r.paths(path).map((q) => String(q.headers["content-type"])))];
      expect(type("/v1/traces")).toEqual(["application/x-protobuf"]);
      expect(type("/v1/metrics")).toEqual(["application/x-protobuf"]);
      expect(type("/v1/logs")).toEqual(["application/json"]);
      // Every scope carries the semantic conventions' schema URL; a stage that succeeded leaves its status unset.
      const scopes = (path: string, key: string, inner: string) =>
        r.paths(path).flatMap((q) => (q.body as any)[key].flatMap((x: any) => x[inner]));
      for (const [path, key, inner] of [
        ["/v1/traces", "resourceSpans", "scopeSpans"],
        ["/v1/metrics", "resourceMetrics", "scopeMetrics"],
        ["/v1/logs", "resourceLogs", "scopeLogs"],
      ] as const) {
        const found = scopes(path, key, inner);
        expect(found.length, path).toBeGreaterThan(0);
        for (const scope of found) expect(scope.schemaUrl, path).toMatch(/^https:\/\/opentelemetry\.io\/schemas\/1\.\d+\.\d+$/);
      }
      const span = r.receiver.spans().find((s) => s.name === "stage proto")!;
      expect(span.status.code).toBe(0);
    },
  },
  {
    variables: "`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT`",
    spec: "default `http://localhost:4318` (`:4317` for gRPC); `/v1/<signal>` appended to the general one only",
    stagetrace: "no default: without an endpoint (or a `console` exporter) nothing is exported",
    why: "a stage run on a laptop or in a test must not try the network unless asked to",
    async check() {
      const r = await stage((url) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${url}/custom/traces` }));
      expect(r.receiver.requests.map((q) => q.path)).toEqual(expect.arrayContaining(["/custom/traces"]));
      expect(r.receiver.requests.every((q) => q.path === "/custom/traces")).toBe(true);
    },
  },
  {
    variables: "`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_HEADERS`",
    spec: "`key=value,...`, values percent-decoded; for a key in both, the per-signal value wins",
    stagetrace: "the same",
    why: "",
    async check() {
      const r = await stage({
        OTEL_EXPORTER_OTLP_HEADERS: "x-team=media,x-key=general",
        OTEL_EXPORTER_OTLP_METRICS_HEADERS: "x-key=metrics%20only",
      });
      for (const q of r.paths("/v1/metrics")) expect(q.headers).toMatchObject({ "x-team": "media", "x-key": "metrics only" });
      for (const q of [...r.paths("/v1/traces"), ...r.paths("/v1/logs")])
        expect(q.headers).toMatchObject({ "x-team": "media", "x-key": "general" });
      expect(r.paths("/v1/metrics").length * r.paths("/v1/traces").length).toBeGreaterThan(0);
    },
  },
  {
    variables: "`OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_TIMEOUT`",
    spec: "10000 ms for one export; the per-signal variable wins",
    stagetrace:
      "as set. Unset: 10000 ms, but at most half of `STAGETRACE_EXIT_TIMEOUT_MS` (so 1500 ms by default). At exit an export still waiting when the exit bound is spent is abandoned and counted as dropped. A heartbeat export takes at most 750 ms",
    why: "a finished stage must not hold a pipeline for a backend: the exporter's retries end within the unset timeout, so within the exit bound; a heartbeat is never retried (the next one replaces it)",
    async check() {
      // A backend that answers after more than half the exit bound: with the timeout as set
      // (not cut to half the bound), every span, log record and beat arrives. The batches wait for
      // the final flush, so each signal makes one export: a scheduled export first, then the
      // flush's, would be two answers in a row, more than the bound.
      const r = await stage(
        {
          STAGETRACE_EXIT_TIMEOUT_MS: "10000",
          OTEL_EXPORTER_OTLP_TIMEOUT: "10000",
          OTEL_BSP_SCHEDULE_DELAY: "60000",
          OTEL_BLRP_SCHEDULE_DELAY: "60000",
        },
        undefined,
        { behaviour: "slow", delayMs: 5500 },
      );
      expect(r.manifest().telemetry).toMatchObject({ exported: 1, dropped: 0, log_records_exported: r.logLines(), log_records_dropped: 0 });
      const c = resolveTelemetryConfig({}, { OTEL_EXPORTER_OTLP_TIMEOUT: "20000", OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "15000" }, () => {});
      expect(c).toMatchObject({ exportTimeoutMs: 15_000, metricsTimeoutMs: 20_000, logsTimeoutMs: 20_000 });
      expect(resolveTelemetryConfig({}, { STAGETRACE_EXIT_TIMEOUT_MS: "30000" }, () => {}).exportTimeoutMs).toBe(10_000);
    },
  },
  {
    variables: "`OTEL_EXPORTER_OTLP_CERTIFICATE`, `..._CLIENT_CERTIFICATE`, `..._CLIENT_KEY` (and their `_{TRACES,METRICS,LOGS}_` forms)",
    spec: "PEM files: the CA to trust, and the client's certificate and key",
    stagetrace: "the same, for spans, logs and heartbeat metrics",
    why: "",
    async check() {
      const files = makeTlsFiles();
      const tls = { key: files.read(files.serverKey), cert: files.read(files.serverCert), ca: files.read(files.caCert) };
      const r = await stage(
        {
          OTEL_EXPORTER_OTLP_CERTIFICATE: files.caCert,
          OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: files.clientCert,
          OTEL_EXPORTER_OTLP_CLIENT_KEY: files.clientKey,
        },
        undefined,
        { tls },
      );
      for (const path of ["/v1/traces", "/v1/metrics", "/v1/logs"]) {
        expect(r.paths(path).length, path).toBeGreaterThan(0);
        for (const q of r.paths(path)) expect(q.clientCertificateCN).toBe("stagetrace-client");
      }
      // Without the CA the receiver's certificate is not trusted: nothing arrives, the stage still succeeds.
      const untrusted = await stage(
        { OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: files.clientCert, OTEL_EXPORTER_OTLP_CLIENT_KEY: files.clientKey },
        undefined,
        { tls },
      );
      expect(untrusted.receiver.requests).toEqual([]);
      expect(untrusted.manifest().status).toBe("success");
    },
  },
  {
    variables: "`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`",
    spec: "`service.name` from `OTEL_SERVICE_NAME`, else from `OTEL_RESOURCE_ATTRIBUTES`, else `unknown_service:node`",
    stagetrace: "the same, with `stagetrace` as the default name (the `serviceName` option beats both)",
    why: "a pipeline's spans need a recognisable service when nobody set one",
    async check() {
      const r = await stage({ OTEL_RESOURCE_ATTRIBUTES: "service.name=media%20pipeline,deployment.environment.name=ci" });
      const span = r.receiver.spans().find((s) => s.name === "stage proto")!;
      expect(span.resource.attributes).toMatchObject({ "service.name": "media pipeline", "deployment.environment.name": "ci" });
      for (const l of r.receiver.logRecords()) expect(l.resourceAttributes["service.name"]).toBe("media pipeline");
      for (const m of r.receiver.metricPoints()) expect(m.resourceAttributes["service.name"]).toBe("media pipeline");
    },
  },
  {
    variables: "`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`",
    spec: "`parentbased_always_on` (default), `always_on`, `always_off`, `traceidratio`, `parentbased_always_off`, `parentbased_traceidratio`; the ratio from 0 to 1",
    stagetrace:
      "the same (`jaeger_remote`, `xray` and others warn and use the default); a stage span the sampler drops is still recorded, but not exported. On an app's own SDK its sampler decides, and a stage span it drops is recorded by stagetrace for its manifest, exported by nobody",
    why: "the manifest is built from the stage's span, so every stage must have a complete one",
    async check() {
      const r = await stage({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" });
      expect(r.paths("/v1/traces")).toEqual([]);
      const m = r.manifest();
      expect(m).toMatchObject({ status: "success", outputs: [{ name: "out.txt" }] });
      // The log records carry the unsampled trace context (flags 0).
      expect(r.receiver.logRecords().find((l) => l.body === "info line 1")!.traceId).toBe(m.trace.trace_id);
      const on = await stage({ OTEL_TRACES_SAMPLER: "always_on", TRACEPARENT: TRACEPARENT.replace(/-01$/, "-00") });
      expect(on.receiver.spans().map((s) => s.name)).toContain("stage proto");
    },
  },
  {
    variables: "`OTEL_PROPAGATORS`",
    spec: "`tracecontext,baggage` (default); also `b3`, `b3multi`, `jaeger`, `xray`, `ottrace`, `none`",
    stagetrace:
      "`tracecontext`, `baggage` and `none`, read from and passed on in `TRACEPARENT`, `TRACESTATE` and `BAGGAGE`; the others warn and are ignored",
    why: "stagetrace carries context in environment variables, which W3C trace context defines; the other formats would need packages stagetrace does not bundle",
    async check() {
      const joined = await stage({ TRACEPARENT });
      expect(joined.manifest().trace.trace_id).toBe(TRACEPARENT.split("-")[1]);
      const none = await stage({ TRACEPARENT, OTEL_PROPAGATORS: "none" });
      expect(none.manifest().trace.trace_id).not.toBe(TRACEPARENT.split("-")[1]);
      const b3 = await stage({ TRACEPARENT, OTEL_PROPAGATORS: "b3" });
      expect(b3.stderr).toContain('OTEL_PROPAGATORS: "b3" is not supported');
    },
  },
  {
    variables: "`OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_EXPORT_TIMEOUT`, `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`",
    spec: "5000 ms, 30000 ms, 2048, 512",
    stagetrace: "as set; by default a delay of 500 ms",
    why: "a stage process is often short-lived, and its span is worth seeing while the pipeline still runs",
    async check() {
      const r = await stage({ FIXTURE_LINES: "0", OTEL_BSP_SCHEDULE_DELAY: "60000", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "1" }, MULTI);
      const batches = r
        .paths("/v1/traces")
        .map((q) => (q.body as any).resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)).length);
      expect(batches).toEqual([1, 1, 1]);
    },
  },
  {
    variables: "`OTEL_BLRP_SCHEDULE_DELAY`, `OTEL_BLRP_EXPORT_TIMEOUT`, `OTEL_BLRP_MAX_QUEUE_SIZE`, `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`",
    spec: "1000 ms, 30000 ms, 2048, 512",
    stagetrace: "as set; by default 200 ms, 30000 ms, 16384, 1024",
    why: "a stage writes log lines in bursts; the local stage.log and pipeline log always keep every line",
    async check() {
      const r = await stage({ FIXTURE_LINES: "4", OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: "2", OTEL_BLRP_SCHEDULE_DELAY: "60000" });
      const sizes = r
        .paths("/v1/logs")
        .map((q) => (q.body as any).resourceLogs.flatMap((rl: any) => rl.scopeLogs.flatMap((sl: any) => sl.logRecords)).length);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(r.logLines());
      expect(sizes.length).toBeGreaterThanOrEqual(r.logLines() / 2);
    },
  },
  {
    variables: "`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`",
    spec: "longest attribute value on a span; longer values are truncated",
    stagetrace: "applied to what goes over the wire only",
    why: "the manifest is built from the span: paths and hashes in it must be whole",
    async check() {
      const r = await stage({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "8" });
      const m = r.manifest();
      expect(m.outputs[0].path).toBe(join(r.run, "proto", "out.txt"));
      const span = r.receiver.spans().find((s) => s.name === "stage proto")!;
      expect(String(span.attributes["stagetrace.stage.dir"])).toHaveLength(8);
    },
  },
  {
    variables:
      "`OTEL_ATTRIBUTE_COUNT_LIMIT`, `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, `OTEL_SPAN_EVENT_COUNT_LIMIT`, `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, ...",
    spec: "most attributes and events a span keeps (128 by default)",
    stagetrace:
      "not applied to stage spans; `STAGETRACE_OTLP_MAX_EVENTS` (1000) bounds the file events sent over OTLP, and the manifest counts the rest in `telemetry.events_omitted`",
    why: "a stage's manifest lists every file it tracked, and it is built from the span",
    async check() {
      const r = await stage({
        OTEL_SPAN_EVENT_COUNT_LIMIT: "2",
        OTEL_ATTRIBUTE_COUNT_LIMIT: "3",
        FIXTURE_FILES: "5",
        STAGETRACE_OTLP_MAX_EVENTS: "4",
      });
      const m = r.manifest();
      expect(m.outputs).toHaveLength(6);
      expect(m.config).toMatchObject({ model: "large-v2", batchSize: 16 });
      expect(m.telemetry).toMatchObject({ events_omitted: 2 });
      const span = r.receiver.spans().find((s) => s.name === "stage proto")!;
      expect(span.events.filter((e) => e.name === "stagetrace.file")).toHaveLength(4);
    },
  },
];

const cell = (s: string) => s.replace(/\|/g, "\\|");
function renderTable(): string {
  const lines = ["| variable | specification | stagetrace | why it differs |", "| --- | --- | --- | --- |"];
  for (const r of ROWS) lines.push(`| ${cell(r.variables)} | ${cell(r.spec)} | ${cell(r.stagetrace)} | ${cell(r.why || "—")} |`);
  return lines.join("\n");
}
const START = "<!-- otel-variables:start (generated from test/otel-variables.test.ts) -->";
const END = "<!-- otel-variables:end -->";

describe("OTEL_* variables: each as the table in docs/configuration.md says", () => {
  for (const row of ROWS) it(row.variables.replace(/`/g, ""), row.check, 60_000);

  it("cicd.pipeline.task.run.url.full: the manifest's file URL, or STAGETRACE_TASK_URL filled in", async () => {
    const plain = await stage({});
    const span = plain.receiver.spans().find((s) => s.name === "stage proto")!;
    expect(span.attributes["cicd.pipeline.task.run.url.full"]).toBe(pathToFileURL(join(plain.run, "proto", "manifest.json")).href);
    const templated = await stage({ STAGETRACE_TASK_URL: "https://ci.example.com/runs/{run_id}/{stage}", STAGETRACE_RUN_ID: "run 7" });
    const t = templated.receiver.spans().find((s) => s.name === "stage proto")!;
    expect(t.attributes["cicd.pipeline.task.run.url.full"]).toBe("https://ci.example.com/runs/run%207/proto");
  });

  it("a bad value warns once, naming the variable, and falls back", () => {
    const warnings: string[] = [];
    const c = resolveTelemetryConfig(
      {},
      {
        OTEL_TRACES_SAMPLER: "sometimes",
        OTEL_TRACES_SAMPLER_ARG: "2",
        OTEL_BSP_SCHEDULE_DELAY: "soon",
        OTEL_BLRP_MAX_QUEUE_SIZE: "-1",
        OTEL_EXPORTER_OTLP_TIMEOUT: "ten",
      },
      (m) => warnings.push(m),
    );
    expect(c.sampler).toEqual({ name: "parentbased_always_on", ratio: 1 });
    expect(c.bsp.scheduledDelayMillis).toBe(500);
    expect(c.blrp.maxQueueSize).toBe(16_384);
    expect(c).toMatchObject({ exportTimeoutMs: 1500, metricsTimeoutMs: 1500, logsTimeoutMs: 1500 });
    expect(warnings).toEqual([
      'OTEL_EXPORTER_OTLP_TIMEOUT="ten" is not a number of milliseconds >= 1; using 1500',
      'OTEL_BSP_SCHEDULE_DELAY="soon" is not a number of milliseconds >= 0; using 500',
      'OTEL_BLRP_MAX_QUEUE_SIZE="-1" is not a number of records >= 1; using 16384',
      'OTEL_TRACES_SAMPLER="sometimes" is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio; using parentbased_always_on',
    ]);
  });

  it("docs/configuration.md has this table", () => {
    const doc = readFileSync(DOC, "utf8");
    const expected = `${START}\n${renderTable()}\n${END}`;
    const at = doc.indexOf(START);
    const end = doc.indexOf(END);
    if (process.env.UPDATE_OTEL_TABLE && at >= 0 && end > at) {
      writeFileSync(DOC, doc.slice(0, at) + expected + doc.slice(end + END.length));
      return;
    }
    expect(at, `docs/configuration.md lacks ${START}`).toBeGreaterThanOrEqual(0);
    expect(doc.slice(at, end + END.length)).toBe(expected);
  });
});
