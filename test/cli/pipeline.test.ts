// The example pipeline under `stagetrace run`, against an in-process OTLP
// receiver: eleven processes, TypeScript and shell stages, one trace.
import { spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { EXAMPLE_PIPELINE, EXAMPLE_STAGES } from "../support/example-pipeline.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { readJson, tempDir } from "../support/tmp.js";

const PIPELINE = EXAMPLE_PIPELINE;
const STAGES: readonly string[] = EXAMPLE_STAGES;

let receiver: OtlpReceiver;
let run: string;
let code: number | null;
let stderr = "";

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  run = join(tempDir(), "run");
  code = await new Promise((resolve, reject) => {
    const child = spawn("bash", [PIPELINE], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", OUTPUT_DIR: run, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", resolve);
  });
}, 60_000);
afterAll(() => receiver.close());

describe("the example pipeline under stagetrace run", () => {
  it("arrives as one trace: eleven stage spans under the run span", async () => {
    expect(code, stderr).toBe(0);
    const summary = readJson(join(run, "pipeline.json"));
    expect(summary).toMatchObject({ pipeline: "subtitle-pipeline", status: "success", exit_code: 0 });
    expect(summary.stages.map((s: any) => s.name)).toEqual(STAGES);
    const { trace_id: traceId, span_id: runSpanId } = summary.trace;

    await receiver.waitFor((r) => r.spans().filter((s) => s.spanContext().traceId === traceId).length >= 12, 10_000);
    const spans = receiver.spans().filter((s) => s.spanContext().traceId === traceId);
    expect(receiver.spans()).toHaveLength(spans.length); // nothing outside the run's trace
    const runSpan = spans.find((s) => s.name === "RUN subtitle-pipeline")!;
    expect(runSpan.spanContext().spanId).toBe(runSpanId);
    expect(runSpan.parentSpanContext).toBeUndefined();
    const stageSpans = spans.filter((s) => s.name.startsWith("stage "));
    expect(stageSpans.map((s) => s.attributes["cicd.pipeline.task.name"]).sort()).toEqual([...STAGES].sort());
    for (const s of stageSpans) {
      expect(s.parentSpanContext?.spanId, s.name).toBe(runSpanId);
      const number = STAGES.indexOf(s.attributes["cicd.pipeline.task.name"] as string) + 1;
      expect(s.attributes["stagetrace.stage.number"]).toBe(number);
      expect(s.attributes["cicd.pipeline.run.id"]).toBe(summary.run_id);
      const expected = s.attributes["cicd.pipeline.task.name"] === "lyrics_detection" ? "skipped" : "success";
      expect(s.attributes["stagetrace.stage.status"], s.name).toBe(expected);
    }
  });

  it("replays, from the OTLP/JSON the backend got, manifests equal to the live ones", async () => {
    const traceId = readJson(join(run, "pipeline.json")).trace.trace_id;
    await receiver.waitFor((r) => r.spans().filter((s) => s.spanContext().traceId === traceId).length >= 12, 10_000);
    const dir = tempDir();
    const traceFile = join(dir, "trace.jsonl");
    const lines = receiver.requests.filter((q) => q.path === "/v1/traces").map((q) => JSON.stringify(q.body));
    writeFileSync(traceFile, lines.join("\n") + "\n");
    const out = join(dir, "replayed");
    const r = await runCli(["replay", traceFile, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const stageDirs = readdirSync(run)
      .filter((d) => /^\d\d_/.test(d))
      .sort();
    expect(stageDirs).toHaveLength(11);
    expect(readdirSync(out).sort()).toEqual(stageDirs);
    for (const d of stageDirs) {
      const live = readJson(join(run, d, "manifest.json"));
      const replayed = readJson(join(out, d, "manifest.json"));
      expect(live.telemetry).toMatchObject({ state: "final", dropped: 0 });
      delete live.telemetry;
      delete replayed.telemetry;
      expect(replayed, d).toEqual(live);
    }
  });
});
