// Concurrency and scale: many processes on one pipeline log, many stages in
// one process, and one stage with 100,000 files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { assertValidManifest } from "../support/schema.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "../support/tmp.js";
import { fixture, run } from "./harness.js";

const SCALE = fixture("scale-stage.mjs");

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

describe("eight stage processes appending to one pipeline log at once", () => {
  it("10,000 lines each: every line parses, none is lost, none is torn, each process's lines stay in order", async () => {
    const runDir = tempDir();
    const names = Array.from({ length: 8 }, (_, i) => `p${i + 1}`);
    const results = await Promise.all(names.map((n) => run({ OUTPUT_DIR: runDir, FAULT_STAGE: n, FAULT_LINES: "10000" })));
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    const path = pipelineLogOf(runDir);
    expect(readFileSync(path, "utf8").endsWith("\n")).toBe(true);
    const lines = readLogLines(path); // throws on a torn line
    expect(lines).toHaveLength(8 * (10_000 + 2)); // plus each stage's start and finish lines
    for (const n of names) {
      const own = lines.filter((l) => l.stage === n);
      expect(own.filter((l) => typeof l.i === "number").map((l) => l.i)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
      expect(own[0].msg).toBe(`stage ${n} started`);
      expect(own.at(-1).msg).toBe(`stage ${n} finished`);
      expect(new Set(own.map((l) => l.pid)).size).toBe(1);
      expect(readLogLines(join(runDir, n, "stage.log"))).toHaveLength(10_002);
    }
  });
});

describe("stages running concurrently in one process (Promise.all of runStage)", () => {
  it("keep their logs, spans and manifests apart", async () => {
    receiver = await startOtlpReceiver();
    const runDir = tempDir();
    const r = await run({ OUTPUT_DIR: runDir, SCALE_CASE: "concurrent", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, SCALE);
    expect(r.stdout).toContain("CODES 0,0,1,0");
    expect(r.code).toBe(1);
    const spans = receiver.spans();
    const pipeline = readLogLines(pipelineLogOf(runDir));
    const names = ["alpha", "beta", "gamma", "delta"];
    const traceIds = new Set<string>();
    for (const name of names) {
      const m = readJson(join(runDir, name, "manifest.json"));
      assertValidManifest(m);
      expect(m.status).toBe(name === "gamma" ? "failed" : "success");
      expect(m.config).toEqual({ owner: name });
      expect(m.outputs.map((o: { name: string; metadata: object }) => [o.name, o.metadata])).toEqual([[`${name}.txt`, { owner: name }]]);
      expect(m.warnings.map((w: { message: string }) => w.message)).toEqual([`${name} warning`]);
      expect(m.errors.map((e: { message: string }) => e.message)).toEqual(name === "gamma" ? ["gamma fails on its own"] : []);
      traceIds.add(m.trace.trace_id);

      const stageSpan = spans.find((s) => s.name === `stage ${name}`)!;
      expect(stageSpan.spanContext().spanId).toBe(m.trace.span_id);
      const children = spans.filter((s) => s.name.startsWith(`${name} step `));
      expect(children).toHaveLength(4);
      for (const c of children) expect(c.parentSpanContext?.spanId).toBe(m.trace.span_id);
      const childIds = new Set(children.map((c) => c.spanContext().spanId));

      const stageLog = readLogLines(join(runDir, name, "stage.log"));
      // 200 lines, 4 inside child spans, start and end, and for gamma the line saying what it threw
      expect(stageLog).toHaveLength(200 + 4 + 2 + (name === "gamma" ? 1 : 0));
      for (const line of stageLog) {
        expect(line.stage).toBe(name);
        if (line.owner !== undefined) expect(line.owner).toBe(name);
        expect(line.trace_id).toBe(m.trace.trace_id);
        expect(line.child ? childIds.has(line.span_id) : line.span_id === m.trace.span_id, JSON.stringify(line)).toBe(true);
      }
      const inPipeline = pipeline.filter((l) => l.stage === name);
      expect(inPipeline).toHaveLength(stageLog.length);
      for (const line of inPipeline) expect(line.trace_id).toBe(m.trace.trace_id);
    }
    expect(traceIds.size).toBe(4);
  });
});

// Measured on Node 20: about 260 MB peak RSS for 100,000 tracked files (380 MB
// before the manifest was written in pieces and file records stopped waiting
// for finalize). The bound leaves room for a different allocator or Node
// version, and would catch per-file growth (a copy of every entry, a retained
// buffer per file, the whole manifest text held at once).
const RSS_BOUND_BYTES = 480 * 1024 * 1024;

describe("one stage tracking 100,000 files", () => {
  it("lists all of them in the manifest, stays under the memory bound, and sends OTLP what fits with the rest counted", async () => {
    receiver = await startOtlpReceiver();
    const runDir = tempDir();
    const r = await run(
      { OUTPUT_DIR: runDir, SCALE_CASE: "files", SCALE_FILES: "100000", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      SCALE,
    );
    expect(r.code, r.stderr).toBe(0);
    const rss = Number(/^RSS (\d+)$/m.exec(r.stdout)?.[1]);
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThan(RSS_BOUND_BYTES);

    const m = readJson(join(runDir, "many", "manifest.json"));
    expect(m.outputs).toHaveLength(100_000);
    expect(new Set(m.outputs.map((o: { path: string }) => o.path)).size).toBe(100_000);
    expect(m.outputs[99_999]).toMatchObject({ name: "f99999.txt", size: 5, exists: true, metadata: { i: 99_999 } });
    expect(m.telemetry).toMatchObject({ state: "final", exported: 1, dropped: 0, events_omitted: 99_000 });

    const span = receiver.spans().find((s) => s.name === "stage many")!;
    expect(span.events.filter((e) => e.name === "stagetrace.file")).toHaveLength(1000);
    expect(span.droppedEventsCount).toBe(99_000);
    const largest = Math.max(...receiver.requests.filter((q) => q.path === "/v1/traces").map((q) => q.rawBody.length));
    expect(largest).toBeLessThan(4 * 1024 * 1024); // well under common OTLP receiver limits
  }, 300_000); // a hang guard, not a speed bound: 100,000 files take 25-80 s on a busy 2-core machine
});
