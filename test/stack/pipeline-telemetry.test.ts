// What the alert rules and the spanmetrics dimensions rely on must be what
// stages actually send: the example pipeline runs against an in-process OTLP
// receiver, and the span names, attributes and heartbeat metrics that arrive
// are checked against collector-config/.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ATTR, METRIC, METRIC_ATTR, STAGE_STATUSES } from "../../src/conventions.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedMetricPoint } from "../support/otlp-receiver.js";
import { EXAMPLE_PIPELINE, EXAMPLE_PIPELINE_NAME, EXAMPLE_STAGES } from "../support/example-pipeline.js";
import { FIXTURE } from "../support/spawn-stage.js";
import { readJson, tempDir } from "../support/tmp.js";

/**
 * The example pipeline, as `npm run demo` runs it (without the summary the
 * demo prints afterwards): the subtitle pipeline under `stagetrace run`.
 * Another pipeline: change this constant only.
 */
const PIPELINE = {
  command: ["bash", EXAMPLE_PIPELINE],
  name: EXAMPLE_PIPELINE_NAME,
  stages: EXAMPLE_STAGES,
  /** The environment that makes one stage fail, and that stage. */
  failing: { env: { FAIL_STAGE: "asr" }, stage: "asr" },
  /** Whether the runner adds the `RUN <pipeline>` span (`stagetrace run` does). */
  runSpan: true,
};

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WAITING_STAGE = fileURLToPath(new URL("./fixtures/waiting-stage.mjs", import.meta.url));
const RECORD_IMPORTS = fileURLToPath(new URL("./fixtures/record-imports.mjs", import.meta.url));
const collector = parse(readFileSync(join(ROOT, "collector-config/otel-collector.yaml"), "utf8"));
const alertsText = readFileSync(join(ROOT, "collector-config/alerts.yml"), "utf8");
const DIMENSIONS: string[] = collector.connectors.spanmetrics.dimensions.map((d: { name: string }) => d.name);
/** Dimensions only the pipeline's run span carries. */
const RUN_SPAN_DIMENSIONS = [ATTR.pipelineResult];

/** Eleven stage processes: a guard against a hang, generous for a loaded machine, not a speed claim. */
const PIPELINE_TEST_TIMEOUT_MS = 180_000;

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts a process with a clean environment plus `env`; `onStdout` sees its output as it comes. */
function start(argv: string[], env: Record<string, string>, onStdout?: (text: string, kill: () => void) => void) {
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    onStdout?.(stdout, () => child.kill("SIGKILL"));
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise<Run>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The Prometheus name the Collector's prometheus exporter gives an OTLP gauge. */
function prometheusName(point: ReceivedMetricPoint): string {
  const units: Record<string, string> = { s: "seconds", ms: "milliseconds", By: "bytes" };
  const base = point.name.replaceAll(".", "_");
  const unit = point.unit.replace(/\{[^}]*\}/g, "");
  return unit && units[unit] ? `${base}_${units[unit]}` : base;
}

const label = (attribute: string) => attribute.replaceAll(".", "_");

function stageSpans(r: OtlpReceiver): ReadableSpan[] {
  return r.spans().filter((s) => s.name.startsWith("stage "));
}

function pointsOf(r: OtlpReceiver, stage: string, metric: string): ReceivedMetricPoint[] {
  return r.metricPoints().filter((p) => p.name === metric && p.attributes[ATTR.taskName] === stage);
}

/** Labels of a heartbeat metric series in alerts.yml: `$labels.x` of the heartbeat alerts. */
function heartbeatRuleLabels(): Set<string> {
  const rules = parse(alertsText).groups.flatMap((g: { rules: { alert: string; expr: string; annotations: object }[] }) => g.rules);
  const labels = new Set<string>();
  for (const rule of rules.filter((r: { expr: string }) => r.expr.includes("stagetrace_stage_active"))) {
    for (const m of JSON.stringify(rule.annotations).matchAll(/\$labels\.(\w+)/g)) labels.add(m[1]!);
  }
  return labels;
}

describe("the example pipeline, seen by the Collector", () => {
  it("sends the stage spans the spanmetrics dimensions and the stage alerts rely on", { timeout: PIPELINE_TEST_TIMEOUT_MS }, async () => {
    receiver = await startOtlpReceiver();
    const runDir = tempDir();
    const r = await start(PIPELINE.command, { OUTPUT_DIR: runDir, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    expect(r.code, r.stderr).toBe(0);

    const spans = stageSpans(receiver);
    // The host and process are each stage process's resource, not span attributes; the manifest names the same.
    const pids = new Set<unknown>();
    for (const span of spans) {
      const resource = span.resource.attributes;
      expect(resource["host.name"], span.name).toBeTypeOf("string");
      expect(resource["process.pid"], span.name).toBeTypeOf("number");
      for (const key of ["host.name", "process.pid"]) expect(span.attributes[key], `${span.name}: ${key} on the span`).toBeUndefined();
      const manifest = readJson(join(String(span.attributes[ATTR.stageDir]), "manifest.json"));
      // A Python stage's span has its interpreter's resource (the run's agent exports it), a TypeScript stage's Node's.
      const python = /python/.test(String(manifest.process.command_args[0]));
      expect(resource["process.runtime.name"], span.name).toBe(python ? "cpython" : "nodejs");
      expect(manifest.process.pid, span.name).toBe(resource["process.pid"]);
      expect(manifest.process.hostname, span.name).toBe(resource["host.name"]);
      pids.add(resource["process.pid"]);
    }
    // One process per stage under `stagetrace run`, each with its own resource.
    expect(pids.size).toBe(spans.length);
    expect(readdirSync(runDir).length).toBeGreaterThan(0);
    expect(spans.map((s) => s.name).sort()).toEqual(PIPELINE.stages.map((s) => `stage ${s}`).sort());
    for (const span of spans) {
      const where = span.name;
      expect(span.name, where).toMatch(/^stage .+$/); // span_name=~"stage .+" in alerts.yml
      expect(span.kind, where).toBe(SpanKind.INTERNAL);
      expect(span.status.code, where).not.toBe(SpanStatusCode.ERROR);
      expect(span.resource.attributes["service.name"], where).toBeTypeOf("string"); // the service_name label
      for (const dim of DIMENSIONS.filter((d) => !RUN_SPAN_DIMENSIONS.includes(d as never))) {
        expect(span.attributes[dim], `${where}: ${dim}`).toBeTypeOf("string");
      }
      expect(span.attributes[ATTR.taskName]).toBe(span.name.slice("stage ".length));
      expect(span.attributes[ATTR.pipelineName]).toBe(PIPELINE.name);
      expect(STAGE_STATUSES).toContain(span.attributes[ATTR.stageStatus]);
    }

    const runSpans = receiver.spans().filter((s) => s.name.startsWith("RUN "));
    expect(runSpans.length > 0, "a RUN <pipeline> span arrives").toBe(PIPELINE.runSpan);
    for (const run of runSpans) {
      expect(run.name).toBe(`RUN ${PIPELINE.name}`);
      for (const dim of [ATTR.pipelineName, ATTR.pipelineResult]) expect(run.attributes[dim], dim).toBeTypeOf("string");
    }
  });

  it("marks the failed stage's span ERROR with status failed, as StagetraceStageFailed counts it", { timeout: PIPELINE_TEST_TIMEOUT_MS }, async () => {
    receiver = await startOtlpReceiver();
    const r = await start(PIPELINE.command, { OUTPUT_DIR: tempDir(), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...PIPELINE.failing.env });
    expect(r.code).not.toBe(0);
    const failed = stageSpans(receiver).filter((s) => s.attributes[ATTR.taskName] === PIPELINE.failing.stage);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.status.code).toBe(SpanStatusCode.ERROR); // status_code="STATUS_CODE_ERROR"
    expect(failed[0]!.attributes[ATTR.stageStatus]).toBe("failed");
    expect(failed[0]!.attributes[ATTR.pipelineName]).toBe(PIPELINE.name);
  });

  it("sends every stage's heartbeat metrics with the labels the heartbeat alerts print (run labels on), ending at active 0", { timeout: PIPELINE_TEST_TIMEOUT_MS }, async () => {
    receiver = await startOtlpReceiver();
    const r = await start(PIPELINE.command, {
      STAGETRACE_METRIC_RUN_LABELS: "on",
      OUTPUT_DIR: tempDir(),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      STAGETRACE_STALL_AFTER_S: "600",
      STAGETRACE_EXPECTED_DURATION_S: "3600",
    });
    expect(r.code, r.stderr).toBe(0);
    const spans = stageSpans(receiver);
    const wanted = heartbeatRuleLabels();
    expect(wanted.size).toBeGreaterThan(0);

    for (const stage of PIPELINE.stages) {
      const span = spans.find((s) => s.attributes[ATTR.taskName] === stage)!;
      const active = pointsOf(receiver, stage, METRIC.stageActive);
      const beats = pointsOf(receiver, stage, METRIC.stageHeartbeat);
      const started = pointsOf(receiver, stage, METRIC.stageStartTime);
      const progress = pointsOf(receiver, stage, METRIC.stageProgress);
      const stallAfter = pointsOf(receiver, stage, METRIC.stageStallAfter);
      const expected = pointsOf(receiver, stage, METRIC.stageExpectedDuration);
      expect(progress.at(-1)!.value!, `${stage}: progress after start`).toBeGreaterThanOrEqual(started[0]!.value!);
      expect(stallAfter.at(-1)!.value, `${stage}: STAGETRACE_STALL_AFTER_S`).toBe(600);
      expect(expected.at(-1)!.value, `${stage}: STAGETRACE_EXPECTED_DURATION_S`).toBe(3600);
      expect(active.length, stage).toBeGreaterThan(0);
      expect(beats.length, stage).toBeGreaterThan(0);
      expect(started.length, stage).toBeGreaterThan(0);
      expect(active.at(-1)!.value, `${stage}: last active`).toBe(0);
      for (const p of [...active, ...beats, ...started, ...progress, ...stallAfter, ...expected]) {
        expect(p.kind).toBe("gauge");
        expect(p.scopeName).toBe("stagetrace");
        expect(p.attributes[METRIC_ATTR.traceId]).toBe(span.spanContext().traceId);
        for (const key of [ATTR.taskName, ATTR.pipelineName, ATTR.pipelineRunId, ATTR.stageNumber, ATTR.stageDir]) {
          expect(p.attributes[key], `${stage} ${p.name}: ${key}`).toEqual(span.attributes[key]);
        }
        // The stage's process, as its span's resource names it.
        expect(p.attributes[ATTR.hostName]).toBe(span.resource.attributes["host.name"]);
        expect(p.attributes[ATTR.processPid]).toBe(span.resource.attributes["process.pid"]);
        // `job` is the service.name of the resource, as the prometheus exporter makes it.
        const labels = new Set([...Object.keys(p.attributes).map(label), ...(p.resourceAttributes["service.name"] ? ["job"] : [])]);
        for (const l of wanted) expect(labels.has(l), `${stage} ${p.name}: label ${l} used by alerts.yml`).toBe(true);
      }
      const startSeconds = span.startTime[0] + span.startTime[1] / 1e9;
      expect(Math.abs(started[0]!.value! - startSeconds), `${stage}: start time`).toBeLessThan(1);
      expect(beats.at(-1)!.value!).toBeGreaterThanOrEqual(started[0]!.value!);
    }

    // The Prometheus names alerts.yml uses are the names these gauges get.
    const names = new Set(receiver.metricPoints().map(prometheusName));
    const used = new Set(alertsText.match(/\bstagetrace_stage_(active|heartbeat|start_time|progress|stall_after|expected_duration)\w*/g));
    expect([...used].sort()).toEqual(
      [
        "stagetrace_stage_active",
        "stagetrace_stage_heartbeat_seconds",
        "stagetrace_stage_start_time_seconds",
        "stagetrace_stage_progress_seconds",
        "stagetrace_stage_stall_after_seconds",
        "stagetrace_stage_expected_duration_seconds",
      ].sort(),
    );
    for (const name of used) expect(names.has(name), name).toBe(true);
  });
});

describe("heartbeats of an open stage", () => {
  it("beat while the stage runs, then report active 0 with the stage's own trace id", async () => {
    receiver = await startOtlpReceiver();
    const run = tempDir();
    const release = join(run, "release");
    const stage = "transcode";
    const rcv = receiver;
    const done = start([process.execPath, WAITING_STAGE], {
      OUTPUT_DIR: run,
      FIXTURE_STAGE: stage,
      RELEASE_FILE: release,
      OTEL_EXPORTER_OTLP_ENDPOINT: rcv.url,
      STAGETRACE_HEARTBEAT_INTERVAL_MS: "100",
    });
    // Three beats from the open stage, each later than the one before.
    await rcv.waitFor(() => new Set(pointsOf(rcv, stage, METRIC.stageHeartbeat).map((p) => p.value)).size >= 3, 20_000);
    const whileOpen = pointsOf(rcv, stage, METRIC.stageActive);
    expect(whileOpen.every((p) => p.value === 1)).toBe(true);
    expect(stageSpans(rcv)).toHaveLength(0); // a span says nothing until the stage ends
    writeFileSync(release, "");
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");

    const active = pointsOf(rcv, stage, METRIC.stageActive);
    expect(active.at(-1)!.value).toBe(0);
    const beats = pointsOf(rcv, stage, METRIC.stageHeartbeat).map((p) => p.value!);
    expect(beats).toEqual([...beats].sort((a, b) => a - b));
    expect(new Set(pointsOf(rcv, stage, METRIC.stageStartTime).map((p) => p.value)).size).toBe(1);
    // By default only bounded labels: no run, trace, directory, host or pid (each run would make new series).
    for (const p of pointsOf(rcv, stage, METRIC.stageHeartbeat)) {
      expect(Object.keys(p.attributes).sort()).toEqual([ATTR.taskName]);
      expect(p.resourceAttributes["process.pid"]).toBe(readJson(join(run, stage, "manifest.json")).process.pid);
    }
  });

  it("of a killed stage stop at active 1 and no span arrives: what StagetraceStageLost looks for", async () => {
    receiver = await startOtlpReceiver();
    const run = tempDir();
    const stage = "asr";
    const rcv = receiver;
    let killed = false;
    const r = await start(
      [process.execPath, WAITING_STAGE],
      {
        OUTPUT_DIR: run,
        FIXTURE_STAGE: stage,
        RELEASE_FILE: join(run, "never"),
        OTEL_EXPORTER_OTLP_ENDPOINT: rcv.url,
        STAGETRACE_HEARTBEAT_INTERVAL_MS: "100",
      },
      (stdout, kill) => {
        if (killed || !stdout.includes("STAGE_OPEN")) return;
        killed = true;
        void rcv.waitFor(() => pointsOf(rcv, stage, METRIC.stageActive).some((p) => p.value === 1), 20_000).then(kill, kill);
      },
    );
    expect(r.signal).toBe("SIGKILL");
    const active = pointsOf(rcv, stage, METRIC.stageActive);
    expect(active.length).toBeGreaterThan(0);
    expect(active.every((p) => p.value === 1)).toBe(true);
    expect(stageSpans(rcv)).toHaveLength(0);
  });
});

describe("heartbeats cost nothing without an endpoint", () => {
  const METRICS_MODULES = /@opentelemetry\/(sdk-metrics|exporter-metrics-otlp-http)\//;

  async function stageLoading(env: Record<string, string>) {
    const imports = join(tempDir(), "imports.txt");
    const r = await start([process.execPath, "--import", RECORD_IMPORTS, FIXTURE], { ...env, OUTPUT_DIR: tempDir(), IMPORTS_FILE: imports });
    expect(r.code, r.stderr).toBe(0);
    const loaded = existsSync(imports) ? readFileSync(imports, "utf8").split("\n") : [];
    expect(loaded.some((u) => u.includes("/dist/src/")), "the recorder saw stagetrace load").toBe(true);
    return { r, metricsLoaded: loaded.some((u) => METRICS_MODULES.test(u)) };
  }

  it("does not load the metrics SDK when no OTLP endpoint is set", async () => {
    const { metricsLoaded } = await stageLoading({});
    expect(metricsLoaded).toBe(false);
  });

  it("sends nothing to /v1/metrics and loads nothing when STAGETRACE_HEARTBEAT_INTERVAL_MS=0", async () => {
    receiver = await startOtlpReceiver();
    const { metricsLoaded } = await stageLoading({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, STAGETRACE_HEARTBEAT_INTERVAL_MS: "0" });
    expect(metricsLoaded).toBe(false);
    expect(receiver.spans().length).toBeGreaterThan(0);
    expect(receiver.requests.filter((q) => q.path === "/v1/metrics")).toHaveLength(0);
  });

  it("loads it and beats when an endpoint is set", async () => {
    receiver = await startOtlpReceiver();
    const { metricsLoaded } = await stageLoading({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    expect(metricsLoaded).toBe(true);
    expect(receiver.metricPoints().some((p) => p.name === METRIC.stageActive)).toBe(true);
  });

  it("uses OTEL_EXPORTER_OTLP_METRICS_ENDPOINT for heartbeats when it is set", async () => {
    receiver = await startOtlpReceiver();
    const traces = await startOtlpReceiver();
    try {
      const r = await start([process.execPath, FIXTURE], {
        OUTPUT_DIR: tempDir(),
        OTEL_EXPORTER_OTLP_ENDPOINT: traces.url,
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}/v1/metrics`,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(receiver.metricPoints().some((p) => p.name === METRIC.stageActive)).toBe(true);
      expect(traces.requests.filter((q) => q.path === "/v1/metrics")).toHaveLength(0);
      expect(traces.spans().length).toBeGreaterThan(0);
    } finally {
      await traces.close();
    }
  });
});
