// Backend faults: an OTLP receiver that misbehaves on purpose. Whatever it
// does, a stage keeps its result and exit code, its local files are
// complete, it exits (within the bound `npm run bench` measures), and what did not arrive is counted in
// the manifest and said once on stderr.
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { spawnStage } from "../support/spawn-stage.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceiverBehaviour } from "../support/otlp-receiver.js";
import { assertValidManifest } from "../support/schema.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "../support/tmp.js";
import { fixture, refusedUrl, start } from "./harness.js";

// exitTimeoutMs (3 s by default) from the stage's end to process exit, plus process teardown.
// How long a stage takes to exit against a dead backend is measured by
// `npm run bench`, not asserted here (a loaded machine would miss any tight
// figure). What these tests check is the mechanism: the process exits at
// all, having said what it lost, although its exporter would otherwise
// retry for a minute (OTEL_EXPORTER_OTLP_TIMEOUT below), far past the
// test's own timeout.
const SLOW_EXPORTER = { OTEL_EXPORTER_OTLP_TIMEOUT: "60000" };

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function backend(kind: "refused" | ReceiverBehaviour): Promise<string> {
  if (kind === "refused") return refusedUrl();
  receiver = await startOtlpReceiver({ behaviour: kind, delayMs: 1000 });
  return receiver.url;
}

describe("backend faults", () => {
  const down: ("refused" | ReceiverBehaviour)[] = ["refused", "status-500", "status-429", "hang", "reset"];
  it.each(down)(
    "backend %s: result, exit code and local files unchanged, exits although the exporter would retry for a minute, losses counted and said once",
    async (kind) => {
      const url = await backend(kind);
      const runDir = tempDir();
      const [ok, failing] = await Promise.all([
        spawnStage({ OUTPUT_DIR: runDir, FIXTURE_STAGE: "ok", FIXTURE_LINES: "2000", OTEL_EXPORTER_OTLP_ENDPOINT: url, ...SLOW_EXPORTER }),
        spawnStage({
          OUTPUT_DIR: runDir,
          FIXTURE_STAGE: "bad",
          FIXTURE_FAIL: "broken",
          OTEL_EXPORTER_OTLP_ENDPOINT: url,
          ...SLOW_EXPORTER,
        }),
      ]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(failing.code).toBe(1);
      for (const r of [ok, failing]) {
        expect(r.exitAfterDoneMs).not.toBeNull();
        expect(r.stderr.match(/spans were not delivered/g) ?? [], r.stderr).toHaveLength(1);
        expect(r.stderr.match(/log records were not delivered/g) ?? [], r.stderr).toHaveLength(1);
      }
      const stageLines = readLogLines(join(runDir, "ok", "stage.log"));
      expect(stageLines.filter((l) => /^(debug|info) line /.test(l.msg))).toHaveLength(2000);
      const okManifest = readJson(join(runDir, "ok", "manifest.json"));
      assertValidManifest(okManifest);
      expect(okManifest.status).toBe("success");
      expect(okManifest.outputs).toHaveLength(1);
      // 2,000 lines plus the stage's start and finish lines, none delivered, all counted
      expect(okManifest.telemetry).toMatchObject({
        state: "final",
        exported: 0,
        dropped: 1,
        log_records_exported: 0,
        log_records_dropped: 2002,
      });
      const bad = readJson(join(runDir, "bad", "manifest.json"));
      expect(bad).toMatchObject({ status: "failed", telemetry: { state: "final", exported: 0, dropped: 1 } });
      expect(readLogLines(pipelineLogOf(runDir)).filter((l) => l.msg === "stage ok finished")).toHaveLength(1);
    },
  );

  it("backend slow (answers after 1 s): everything is delivered, nothing is said", async () => {
    const url = await backend("slow");
    const runDir = tempDir();
    const r = await spawnStage({ OUTPUT_DIR: runDir, FIXTURE_STAGE: "ok", FIXTURE_LINES: "200", OTEL_EXPORTER_OTLP_ENDPOINT: url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/not delivered/);
    const m = readJson(join(runDir, "ok", "manifest.json"));
    expect(m.telemetry).toMatchObject({ state: "final", exported: 1, dropped: 0, log_records_exported: 202, log_records_dropped: 0 });
    expect(receiver!.spans().filter((s) => s.name === "stage ok")).toHaveLength(1);
  });

  it("a burst of 200,000 lines: every line is on disk, and over OTLP each is either delivered or counted as dropped", async () => {
    receiver = await startOtlpReceiver();
    const runDir = tempDir();
    const r = await spawnStage({
      OUTPUT_DIR: runDir,
      FIXTURE_STAGE: "burst",
      FIXTURE_LINES: "200000",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(readLogLines(join(runDir, "burst", "stage.log"))).toHaveLength(200_002);
    const m = readJson(join(runDir, "burst", "manifest.json"));
    const { log_records_exported: exported, log_records_dropped: dropped } = m.telemetry;
    expect(exported + dropped).toBe(200_002);
    // What the manifest says arrived did arrive (a retried batch would only add to what the receiver saw).
    expect(receiver.logRecords().length).toBeGreaterThanOrEqual(exported);
    if (dropped > 0) expect(r.stderr).toMatch(/log records were not delivered/);
  });

  // Measured on Node 20: about 110 MB peak RSS with 5,000 spans queued for a
  // backend that never answers; the batch queue holds at most 2,048 of them.
  const RSS_BOUND_BYTES = 256 * 1024 * 1024;

  it("with thousands of spans queued for a hung backend, memory stays bounded and every lost span is counted", async () => {
    const url = await backend("hang");
    const runDir = tempDir();
    const p = start(
      { OUTPUT_DIR: runDir, SCALE_CASE: "spans", SCALE_SPANS: "5000", OTEL_EXPORTER_OTLP_ENDPOINT: url, ...SLOW_EXPORTER },
      fixture("scale-stage.mjs"),
    );
    await p.line(/^DONE 0$/);
    const doneAt = Date.now();
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.endedAt).toBeGreaterThanOrEqual(doneAt);
    const rss = Number(/^RSS (\d+)$/m.exec(r.stdout)?.[1]);
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThan(RSS_BOUND_BYTES);
    const m = readJson(join(runDir, "spans", "manifest.json"));
    expect(m.status).toBe("success");
    expect(m.telemetry).toMatchObject({ state: "final", exported: 0, dropped: 5001 });
    expect(r.stderr.match(/5001 of 5001 spans were not delivered/g) ?? [], r.stderr).toHaveLength(1);
  });
});
