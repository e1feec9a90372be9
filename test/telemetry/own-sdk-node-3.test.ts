// stagetrace on the OpenTelemetry JS 3.x line (@opentelemetry/api 1.10,
// core and the SDKs 3.1, @opentelemetry/sdk-node 0.301), on Node 24: an app
// installed on that line (test/support/otel-3x-app.ts, installed on first
// use), run as a real process against the in-process OTLP receiver. The app
// has one copy of each OpenTelemetry package, all of the 3.x line. Bring your
// own SDK, set up as docs/configuration.md shows for 3.x: one trace, each
// span exported once, the app's service.name on spans, logs and heartbeats,
// the manifest's log counts true, and, with the SDK's default limits (128
// events a span), a complete manifest with the drop counted. And
// stagetrace's own provider on the 3.x packages, and stagetrace's source and
// the docs' 3.x setup type-checked against them.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureOtel3xApp, type Otel3xApp } from "../support/otel-3x-app.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { spawnStage } from "../support/spawn-stage.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "../support/tmp.js";

const OWN_SDK_APP = fileURLToPath(new URL("../fixtures/own-sdk-app-3.mjs", import.meta.url));
const STAGE = fileURLToPath(new URL("../fixtures/stage.mjs", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

/** tsc's complaints about a project or files, with the run folder left out of the paths; "" when it type-checks. */
function typeErrors(cwd: string, args: string[]): string {
  const r = spawnSync(app.node, [TSC, ...args], { cwd, encoding: "utf8" });
  return r.status === 0 ? "" : `${r.stdout}${r.stderr}`.replaceAll(`${cwd}/`, "") || `tsc exit code ${r.status}`;
}

/** docs/configuration.md's TypeScript block for the 3.x line: the first after its "The 3.x line" paragraph. */
function docs3xBlock(): string {
  const doc = readFileSync(join(ROOT, "docs", "configuration.md"), "utf8");
  const after = doc.slice(doc.indexOf("**The 3.x line**"));
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(after);
  if (!block) throw new Error('docs/configuration.md has no TypeScript block after "**The 3.x line**"');
  return block[1]!;
}

let app: Otel3xApp;
// The first run installs the app from the npm registry.
beforeAll(() => {
  app = ensureOtel3xApp();
}, 300_000);
afterAll(() => app?.close());

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function runOnNode24(script: string, stage: string, env: Record<string, string>) {
  receiver = await startOtlpReceiver();
  const run = tempDir();
  const r = await spawnStage({ OUTPUT_DIR: run, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env }, app.script(script), app.node);
  expect(r.code, r.stderr).toBe(0);
  return { ...r, run, manifest: readJson(join(run, stage, "manifest.json")) };
}

describe("the app on the OpenTelemetry JS 3.x line", () => {
  it("has one copy of every @opentelemetry package, of the 3.x line, and runs on Node 22.15 or newer", () => {
    const { versions, nested } = app.otelPackages();
    expect(nested).toEqual([]);
    for (const name of ["core", "resources", "sdk-trace", "sdk-logs", "sdk-metrics", "context-async-hooks"]) {
      expect(versions[`@opentelemetry/${name}`], name).toMatch(/^3\.1\./);
    }
    for (const name of ["sdk-node", "exporter-trace-otlp-http", "exporter-logs-otlp-proto", "exporter-metrics-otlp-grpc"]) {
      expect(versions[`@opentelemetry/${name}`], name).toMatch(/^0\.301\./);
    }
    expect(versions["@opentelemetry/api"]).toBe("1.10.0");
    // The 2.x line's packages are not there at all.
    expect(versions).not.toHaveProperty(["@opentelemetry/sdk-trace-base"]);
    expect(versions).not.toHaveProperty(["@opentelemetry/api-logs"]);
    const version = execFileSync(app.node, ["--version"], { encoding: "utf8" }).trim();
    const [major, minor] = version.slice(1).split(".").map(Number);
    expect(major! > 22 || (major === 22 && minor! >= 15), `${app.node} is Node ${version}`).toBe(true);
  });
});

describe("types on the 3.x line", () => {
  it("stagetrace's source type-checks against the 3.x packages", { timeout: 180_000 }, () => {
    // A copy of src/ and exporters/ in the run folder, where @opentelemetry/* resolves to the app's 3.x packages.
    const copy = join(app.run, "source");
    for (const part of ["src", "exporters", "tsconfig.json"]) cpSync(join(ROOT, part), join(copy, part), { recursive: true });
    const resolved = spawnSync(app.node, [TSC, "-p", "tsconfig.json", "--noEmit", "--traceResolution"], { cwd: copy, encoding: "utf8" });
    expect(resolved.stdout).toMatch(
      /'@opentelemetry\/sdk-trace' was successfully resolved to '[^']*\/otel-3\.x-[^/']*\/node_modules\/@opentelemetry\/sdk-trace\//,
    );
    expect(typeErrors(copy, ["-p", "tsconfig.json", "--noEmit"])).toBe("");
  });

  it("docs/configuration.md's 3.x setup type-checks against the 3.x packages and this build's types", { timeout: 120_000 }, () => {
    writeFileSync(join(app.run, "docs-setup.ts"), docs3xBlock());
    const args = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022"];
    expect(typeErrors(app.run, [...args, "--skipLibCheck", "--types", "node", "docs-setup.ts"])).toBe("");
  });
});

describe("an app with its own @opentelemetry/sdk-node 0.301", () => {
  it("one trace, each span exported once, the app's service.name everywhere, true log counts, all 200 files", async () => {
    const r = await runOnNode24(OWN_SDK_APP, "own", { OTEL_SERVICE_NAME: "media", STAGETRACE_HEARTBEAT_INTERVAL_MS: "200" });
    const rec = receiver!;
    await rec.waitFor((x) => x.spans().some((s) => s.name === "app job"));
    const stageSpans = rec.spans().filter((s) => s.name === "stage own");
    expect(stageSpans).toHaveLength(1);
    const job = rec.spans().find((s) => s.name === "app job")!;
    expect(stageSpans[0]!.spanContext().traceId).toBe(job.spanContext().traceId);
    expect(stageSpans[0]!.parentSpanContext?.spanId).toBe(job.spanContext().spanId);
    expect(r.manifest.trace.trace_id).toBe(job.spanContext().traceId);
    // The app's SDK made the spans: its 3.x resource, not stagetrace's own provider.
    expect(job.resource.attributes["telemetry.sdk.version"]).toMatch(/^3\.1\./);

    for (const s of rec.spans()) expect(s.resource.attributes["service.name"]).toBe("media");
    const logs = rec.logRecords().filter((l) => l.traceId === job.spanContext().traceId);
    expect(logs.length).toBeGreaterThan(0);
    for (const l of logs) expect(l.resourceAttributes["service.name"]).toBe("media");
    expect(rec.metricPoints().length).toBeGreaterThan(0);
    for (const m of rec.metricPoints()) expect(m.resourceAttributes["service.name"]).toBe("media");

    expect(r.manifest.outputs).toHaveLength(200);
    const lines = readFileSync(join(r.run, "own", "stage.log"), "utf8")
      .split("\n")
      .filter(Boolean).length;
    expect(logs).toHaveLength(lines);
    expect(r.manifest.telemetry).toMatchObject({ log_records_exported: lines, log_records_dropped: 0 });
  });

  it("with the SDK's default span limits, the manifest, stage.log and pipeline log are complete; the span carries what the limits allow, and the drop is counted", async () => {
    // 128 events and 128 attributes a span, and values cut at 8 characters (the app's SDK reads the variable).
    const r = await runOnNode24(OWN_SDK_APP, "own", {
      OTEL_SERVICE_NAME: "media",
      OWN_SDK_LIMITS: "default",
      OWN_SDK_CONFIG_KEYS: "150",
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "8",
    });
    const rec = receiver!;
    await rec.waitFor((x) => x.spans().some((s) => s.name === "stage own"));
    const span = rec.spans().find((s) => s.name === "stage own")!;

    expect(r.manifest.outputs.map((o: { name: string }) => o.name)).toEqual(Array.from({ length: 200 }, (_, i) => `f${i}.txt`));
    for (const o of r.manifest.outputs) {
      expect(o.path).toBe(join(r.run, "own", o.name));
      expect(o.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(Object.keys(r.manifest.config)).toHaveLength(150);
    expect(r.manifest.config.k149).toBe("value 149");
    expect(r.manifest.status).toBe("success");
    const stageLog = readLogLines(join(r.run, "own", "stage.log")).map((l) => l.msg);
    expect(stageLog).toEqual(expect.arrayContaining(["own line 0", "own line 1", "own line 2", "stage own finished"]));
    const pipelineLog = readLogLines(pipelineLogOf(r.run)).map((l) => l.msg);
    expect(pipelineLog).toEqual(expect.arrayContaining(["own line 0", "own line 1", "own line 2", "stage own finished"]));

    expect(span.events).toHaveLength(128);
    expect(span.droppedEventsCount).toBe(200 - 128);
    expect(r.manifest.telemetry.events_omitted).toBe(span.droppedEventsCount);
    expect(span.droppedAttributesCount).toBeGreaterThan(0);
    expect(String(span.events[0]!.attributes!["file.path"])).toHaveLength(8);
    expect(r.stderr).toMatch(
      /stage own: the tracer provider's span limits dropped 72 events and \d+ attributes of its span.*manifest\.json has them all/,
    );
  });

  it("a service.name given only in code (new NodeSDK({ serviceName })) names the log records and heartbeats too", async () => {
    const r = await runOnNode24(OWN_SDK_APP, "own", { OWN_SDK_SERVICE: "media-in-code", STAGETRACE_HEARTBEAT_INTERVAL_MS: "200" });
    const rec = receiver!;
    await rec.waitFor((x) => x.spans().some((s) => s.name === "app job") && x.metricPoints().length > 0 && x.logRecords().length > 0);
    for (const s of rec.spans()) expect(s.resource.attributes["service.name"]).toBe("media-in-code");
    const logs = rec.logRecords().filter((l) => l.traceId === r.manifest.trace.trace_id);
    expect(logs.length).toBeGreaterThan(0);
    for (const l of rec.logRecords()) expect(l.resourceAttributes["service.name"]).toBe("media-in-code");
    for (const m of rec.metricPoints()) expect(m.resourceAttributes["service.name"]).toBe("media-in-code");
    expect(r.manifest.telemetry.log_records_exported).toBe(rec.logRecords().length);
  });
});

describe("stagetrace's own provider on the 3.x packages", () => {
  it("exports the stage span, its log records and heartbeats, and writes a complete manifest of 300 files", async () => {
    const r = await runOnNode24(STAGE, "three", {
      OTEL_SERVICE_NAME: "media",
      FIXTURE_STAGE: "three",
      FIXTURE_FILES: "300",
      FIXTURE_LINES: "4",
      STAGETRACE_HEARTBEAT_INTERVAL_MS: "200",
    });
    const rec = receiver!;
    await rec.waitFor((x) => x.spans().some((s) => s.name === "stage three"));
    const spans = rec.spans().filter((s) => s.name === "stage three");
    expect(spans).toHaveLength(1);
    expect(spans[0]!.resource.attributes["service.name"]).toBe("media");
    expect(spans[0]!.resource.attributes["telemetry.sdk.version"]).toMatch(/^3\.1\./);
    expect(spans[0]!.spanContext().traceId).toBe(r.manifest.trace.trace_id);
    // 300 tracked files plus out.txt, on the span and in the manifest, with their hashes.
    expect(r.manifest.status).toBe("success");
    expect(r.manifest.outputs).toHaveLength(301);
    for (const o of r.manifest.outputs) expect(o.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(spans[0]!.events.filter((e) => e.name === "stagetrace.file")).toHaveLength(301);

    const stageLog = readLogLines(join(r.run, "three", "stage.log"));
    const logs = rec.logRecords().filter((l) => l.traceId === r.manifest.trace.trace_id);
    expect(logs).toHaveLength(stageLog.length);
    expect(r.manifest.telemetry).toMatchObject({ log_records_exported: stageLog.length, log_records_dropped: 0 });
    expect(rec.metricPoints().length).toBeGreaterThan(0);
    for (const m of rec.metricPoints()) expect(m.resourceAttributes["service.name"]).toBe("media");
  });
});
