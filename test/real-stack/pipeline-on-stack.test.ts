// The example pipeline against the real stack: the Collector, Jaeger,
// Prometheus and Alertmanager built from source (scripts/stack.mjs), started
// with the config files docker-compose.yml mounts, and a webhook standing for
// the team's pager. Every assertion reads its answer from one of those
// programs' own APIs.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_PIPELINE, EXAMPLE_PIPELINE_NAME, EXAMPLE_STAGES } from "../support/example-pipeline.js";
import { readJson, tempDir } from "../support/tmp.js";
import {
  eventually,
  getJson,
  run,
  startStack,
  startWebhook,
  stopStack,
  type Run,
  type StackEnv,
  type WebhookAlert,
} from "./support/stack.js";

/** The service name the user configured (OTEL_SERVICE_NAME), unique to this run of the suite. */
const SERVICE = `subtitles-${randomBytes(3).toString("hex")}`;
const FAILING = "asr";
const HANGING = "alignment";

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
  logs: { fields: { key: string; value: unknown }[] }[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
const events = (s: JaegerSpan) => s.logs.map((l) => Object.fromEntries(l.fields.map((f) => [f.key, f.value])));

let stackDir: string;
let env: StackEnv;
let webhook: Awaited<ReturnType<typeof startWebhook>>;
const runs: Record<"ok" | "failed" | "hung", { dir: string; result?: Run }> = {
  ok: { dir: "" },
  failed: { dir: "" },
  hung: { dir: "" },
};

beforeAll(async () => {
  webhook = await startWebhook();
  stackDir = tempDir("stagetrace-stack-");
  ({ env } = await startStack(stackDir, webhook.url));

  const base = {
    OTEL_EXPORTER_OTLP_ENDPOINT: env.OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_SERVICE_NAME: SERVICE,
    // Heartbeats often enough for the 15 s scrape to see each open stage.
    STAGETRACE_HEARTBEAT_INTERVAL_MS: "2000",
  };
  for (const k of Object.keys(runs) as (keyof typeof runs)[]) runs[k].dir = tempDir(`stagetrace-${k}-`);
  const ok = run(["bash", EXAMPLE_PIPELINE], { ...base, OUTPUT_DIR: runs.ok.dir });
  const failed = run(["bash", EXAMPLE_PIPELINE], { ...base, OUTPUT_DIR: runs.failed.dir, FAIL_STAGE: FAILING });
  // The hanging stage stops making progress but stays alive; it counts as
  // stalled after 5 s without progress and as slow after 10 s.
  const hung = run(["bash", EXAMPLE_PIPELINE], {
    ...base,
    OUTPUT_DIR: runs.hung.dir,
    HANG_STAGE: HANGING,
    STAGETRACE_STALL_AFTER_S: "5",
    STAGETRACE_EXPECTED_DURATION_S: "10",
  });
  runs.ok.result = await ok.done;
  runs.failed.result = await failed.done;

  // The hung stage's alerts reach the pager; then it is stopped the way a
  // person would stop it, and its alerts must resolve.
  await eventually("the stalled and slow alerts of the hung stage at the webhook", async () =>
    firing("StagetraceStageStalled", HANGING) && firing("StagetraceStageSlow", HANGING) ? true : undefined,
  );
  const manifest = join(runs.hung.dir, "07_alignment", "manifest.json");
  process.kill(readJson(manifest).process.pid, "SIGTERM");
  runs.hung.result = await hung.done;
}, 480_000);

afterAll(async () => {
  if (stackDir) await stopStack(stackDir);
  await webhook?.close();
});

function firing(alertname: string, task: string): WebhookAlert | undefined {
  return webhook.alerts.find((a) => a.status === "firing" && a.labels.alertname === alertname && a.labels.cicd_pipeline_task_name === task);
}

async function traceOf(runDir: string): Promise<JaegerTrace> {
  const traceId: string = readJson(join(runDir, "pipeline.json")).trace.trace_id;
  return eventually(`trace ${traceId} in Jaeger`, async () => {
    const { data } = await getJson<{ data: JaegerTrace[] }>(`${env.JAEGER_URL}/api/traces/${traceId}`);
    const t = data?.[0];
    // Complete once the RUN span and every stage span that ran have arrived.
    return t && t.spans.some((s) => s.operationName.startsWith("RUN ")) && t.spans.length >= expectedSpans(runDir) ? t : undefined;
  });
}

function expectedSpans(runDir: string): number {
  return (
    1 +
    EXAMPLE_STAGES.filter((_, i) => existsSync(join(runDir, `${String(i + 1).padStart(2, "0")}_${EXAMPLE_STAGES[i]}`, "manifest.json")))
      .length
  );
}

describe("the example pipeline on the real Collector, Jaeger, Prometheus and Alertmanager", () => {
  it("the three runs end as they should", () => {
    expect(runs.ok.result!.code, runs.ok.result!.stderr).toBe(0);
    expect(runs.failed.result!.code).not.toBe(0);
    expect(runs.hung.result!.code).not.toBe(0);
    expect(readJson(join(runs.hung.dir, "07_alignment", "manifest.json")).status).toBe("interrupted");
  });

  it("Jaeger holds each run as one trace: the RUN span, every stage under it, the configured service, the file events", async () => {
    const t = await traceOf(runs.ok.dir);
    const root = t.spans.filter((s) => s.operationName === `RUN ${EXAMPLE_PIPELINE_NAME}`);
    expect(root).toHaveLength(1);
    const stages = t.spans.filter((s) => s.operationName.startsWith("stage "));
    expect(stages.map((s) => s.operationName).sort()).toEqual(EXAMPLE_STAGES.map((n) => `stage ${n}`).sort());
    for (const s of stages) {
      expect(s.references, s.operationName).toContainEqual(expect.objectContaining({ refType: "CHILD_OF", spanID: root[0]!.spanID }));
      expect(t.processes[s.processID]!.serviceName).toBe(SERVICE);
    }
    const asr = stages.find((s) => s.operationName === "stage asr")!;
    const files = events(asr).filter((e) => e.event === "stagetrace.file");
    expect(files.some((e) => e["stagetrace.file.role"] === "input")).toBe(true);
    expect(files.some((e) => e["stagetrace.file.role"] === "output" && String(e["file.path"]).endsWith("transcript.json"))).toBe(true);
    expect(tag(asr, "stagetrace.stage.status")).toBe("success");
  });

  it("the failed stage's span has its exception event and error status in Jaeger", async () => {
    const t = await traceOf(runs.failed.dir);
    const asr = t.spans.find((s) => s.operationName === `stage ${FAILING}`)!;
    expect(tag(asr, "otel.status_code")).toBe("ERROR");
    expect(tag(asr, "stagetrace.stage.status")).toBe("failed");
    const exception = events(asr).find((e) => e.event === "exception");
    expect(exception?.["exception.message"]).toContain(`FAIL_STAGE=${FAILING}`);
    // asr is a Python stage: its traceback, as the Python package reported it.
    expect(String(exception?.["exception.stacktrace"])).toMatch(/\S/);
    // The stages after it never ran.
    expect(t.spans.some((s) => s.operationName === "stage alignment")).toBe(false);
  });

  it("Prometheus has the spanmetrics and heartbeat series of the runs", async () => {
    const query = async (q: string) =>
      (
        await getJson<{ data: { result: { metric: Record<string, string> }[] } }>(
          `${env.PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(q)}`,
        )
      ).data.result;
    const calls = await eventually("spanmetrics in Prometheus", async () => {
      const r = await query(`traces_span_metrics_calls_total{service_name="${SERVICE}"}`);
      return r.length > 0 ? r : undefined;
    });
    expect(calls.some((s) => s.metric.span_name === "stage asr" && s.metric.status_code === "STATUS_CODE_ERROR")).toBe(true);
    expect(calls.some((s) => s.metric.span_name === `RUN ${EXAMPLE_PIPELINE_NAME}`)).toBe(true);
    const beats = await query(`stagetrace_stage_heartbeat_seconds{job="${SERVICE}"}`);
    expect(beats.some((s) => s.metric.cicd_pipeline_task_name === HANGING)).toBe(true);
    const progress = await query(`stagetrace_stage_progress_seconds{job="${SERVICE}", cicd_pipeline_task_name="${HANGING}"}`);
    expect(progress.length).toBeGreaterThan(0);
  });

  it("StagetraceStageFailed reaches the pager with the labels and annotations docs/observability.md promises", async () => {
    const alert = await eventually("StagetraceStageFailed at the webhook", async () => firing("StagetraceStageFailed", FAILING));
    expect(alert.labels).toMatchObject({
      severity: "critical",
      service_name: SERVICE,
      cicd_pipeline_name: EXAMPLE_PIPELINE_NAME,
      cicd_pipeline_task_name: FAILING,
      span_name: `stage ${FAILING}`,
      stagetrace_stage_status: "failed",
    });
    expect(alert.annotations.summary).toBe(`Stage ${FAILING} of pipeline ${EXAMPLE_PIPELINE_NAME} failed`);
    expect(alert.annotations.description).toContain("manifest.json and stage.log");
  });

  it("the failed alert's trace link finds the failed stage's span in Jaeger, and not the stage's successful runs", async () => {
    const alert = await eventually("StagetraceStageFailed at the webhook", async () => firing("StagetraceStageFailed", FAILING));
    // The link is the Jaeger UI's search page; the UI asks /api/traces with the same query.
    const link = new URL(alert.annotations.trace_url!);
    expect(link.pathname).toBe("/search");
    const api = new URL(`/api/traces${link.search}`, env.JAEGER_URL);
    const failedTrace: string = readJson(join(runs.failed.dir, "pipeline.json")).trace.trace_id;
    const okTrace: string = readJson(join(runs.ok.dir, "pipeline.json")).trace.trace_id;
    const found = (await getJson<{ data: JaegerTrace[] }>(api.href)).data;
    const ids = found.map((t) => t.traceID);
    expect(ids).toContain(failedTrace);
    expect(ids).not.toContain(okTrace);
    for (const t of found) {
      const asr = t.spans.find((s) => s.operationName === `stage ${FAILING}`);
      expect(asr && tag(asr, "otel.status_code")).toBe("ERROR");
    }
    // Why the link does not search for error=true: this Jaeger reads it as "status OK".
    const byErrorTag = new URL(api.href);
    byErrorTag.searchParams.set("tags", JSON.stringify({ error: "true" }));
    const errorTagIds = (await getJson<{ data: JaegerTrace[] }>(byErrorTag.href)).data.map((t) => t.traceID);
    expect(errorTagIds).not.toContain(failedTrace);
  });

  it("the stalled-stage and slow-stage alerts reach the pager with what the docs promise, their link leading to the hung run's trace", async () => {
    const stalled = firing("StagetraceStageStalled", HANGING)!;
    const slow = firing("StagetraceStageSlow", HANGING)!;
    const hungTrace: string = readJson(join(runs.hung.dir, "pipeline.json")).trace.trace_id;
    for (const a of [stalled, slow]) {
      expect(a.labels).toMatchObject({
        severity: "warning",
        job: SERVICE,
        cicd_pipeline_name: EXAMPLE_PIPELINE_NAME,
        cicd_pipeline_task_name: HANGING,
        stagetrace_stage_number: "7",
      });
      // The default labels are bounded: nothing of the run, its trace or its process.
      for (const l of ["cicd_pipeline_run_id", "stagetrace_trace_id", "stagetrace_stage_dir", "host_name", "process_pid"])
        expect(a.labels[l], l).toBeUndefined();
      // The link is Jaeger's search for the pipeline's traces of the service up to the alert; the UI asks /api/traces with the same query.
      const link = new URL(a.annotations.trace_url!);
      expect(link.pathname).toBe("/search");
      expect(link.searchParams.get("service")).toBe(SERVICE);
      expect(JSON.parse(link.searchParams.get("tags")!)).toEqual({ "cicd.pipeline.name": EXAMPLE_PIPELINE_NAME });
      const found = (await getJson<{ data: JaegerTrace[] }>(new URL(`/api/traces${link.search}`, env.JAEGER_URL).href)).data;
      expect(found.map((t) => t.traceID)).toContain(hungTrace);
      for (const t of found) expect(Object.values(t.processes).map((p) => p.serviceName)).toContain(SERVICE);
      expect(a.annotations.description).toContain("Check its stage.log");
    }
    expect(stalled.annotations.summary).toMatch(/^Stage alignment of pipeline subtitle-pipeline has made no progress for /);
    expect(slow.annotations.summary).toMatch(/^Stage alignment of pipeline subtitle-pipeline has been running for /);
  });

  it("once the hung stage is stopped, its stalled and slow alerts resolve in Prometheus and Alertmanager", async () => {
    type PromAlert = { labels: Record<string, string>; state: string };
    const open = (list: { labels: Record<string, string> }[]) =>
      list.filter(
        (a) =>
          ["StagetraceStageStalled", "StagetraceStageSlow"].includes(a.labels.alertname!) &&
          a.labels.cicd_pipeline_task_name === HANGING &&
          a.labels.job === SERVICE,
      );
    // The same filter finds both alerts as they fired.
    expect(new Set(open(webhook.alerts).map((a) => a.labels.alertname))).toEqual(
      new Set(["StagetraceStageStalled", "StagetraceStageSlow"]),
    );
    await eventually("the hung stage's alerts resolved in Prometheus", async () => {
      const { data } = await getJson<{ data: { alerts: PromAlert[] } }>(`${env.PROMETHEUS_URL}/api/v1/alerts`);
      return open(data.alerts).length === 0 ? true : undefined;
    });
    await eventually("the hung stage's alerts resolved in Alertmanager", async () => {
      const alerts = await getJson<{ labels: Record<string, string> }[]>(`${env.ALERTMANAGER_URL}/api/v2/alerts?active=true`);
      return open(alerts).length === 0 ? true : undefined;
    });
  });
});
