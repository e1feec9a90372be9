// stagetrace on the OpenTelemetry JS 3.x line (@opentelemetry/api 1.10,
// core and the SDKs 3.1, @opentelemetry/sdk-node 0.301), on Node 24 and on
// Node 22, the oldest line it supports: an app
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
import { ensureOtel3xApp, nodeBinary, OTEL_3X_OLDEST_NODE_MAJOR, type Otel3xApp } from "../support/otel-3x-app.js";
import { ownSdkCases } from "../support/own-sdk-cases.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { spawnStage } from "../support/spawn-stage.js";
import { readJson, readLogLines, tempDir } from "../support/tmp.js";

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
/** The Node 22 binary the bring-your-own cases run on too. */
let node22: string;
// The first run installs the app and fetches Node 22 from the npm registry.
beforeAll(() => {
  app = ensureOtel3xApp();
  node22 = nodeBinary(OTEL_3X_OLDEST_NODE_MAJOR);
}, 300_000);
afterAll(() => app?.close());

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function runOn(node: string, script: string, stage: string, env: Record<string, string>) {
  receiver = await startOtlpReceiver();
  const run = tempDir();
  const r = await spawnStage({ OUTPUT_DIR: run, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env }, app.script(script), node);
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
    for (const node of [app.node, node22]) {
      const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
      const [major, minor] = version.slice(1).split(".").map(Number);
      expect(major! > 22 || (major === 22 && minor! >= 15), `${node} is Node ${version}`).toBe(true);
      if (node === node22) expect(major, `${node} is Node ${version}`).toBe(22);
    }
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

describe("an app with its own @opentelemetry/sdk-node 0.301, on Node 24", () => {
  ownSdkCases(
    (env) => runOn(app.node, OWN_SDK_APP, "own", { STAGETRACE_HEARTBEAT_INTERVAL_MS: "200", ...env }),
    () => receiver!,
    /^3\.1\./,
    /^24\./,
  );
});

describe("an app with its own @opentelemetry/sdk-node 0.301, on Node 22", () => {
  ownSdkCases(
    (env) => runOn(node22, OWN_SDK_APP, "own", { STAGETRACE_HEARTBEAT_INTERVAL_MS: "200", ...env }),
    () => receiver!,
    /^3\.1\./,
    /^22\./,
  );
});

describe("stagetrace's own provider on the 3.x packages", () => {
  it("exports the stage span, its log records and heartbeats, and writes a complete manifest of 300 files", async () => {
    const r = await runOn(app.node, STAGE, "three", {
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
