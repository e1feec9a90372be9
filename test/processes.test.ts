import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assertValidManifest } from "./support/schema.js";
import { spawnStage } from "./support/spawn-stage.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "./support/tmp.js";

describe("stages as separate processes sharing a run directory", () => {
  it("share one pipeline log when started at once, with no torn or lost lines", async () => {
    const run = tempDir();
    const names = ["p1", "p2", "p3", "p4"];
    const lines = 4000;
    const results = await Promise.all(
      names.map((n) => spawnStage({ OUTPUT_DIR: run, FIXTURE_STAGE: n, FIXTURE_LINES: String(lines) })),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    expect(readdirSync(join(run, "logs")).filter((f) => f.endsWith(".log"))).toHaveLength(1);
    const text = readFileSync(pipelineLogOf(run), "utf8");
    const parsed = readLogLines(pipelineLogOf(run)); // throws on a torn line
    expect(text.endsWith("\n")).toBe(true);
    for (const n of names) {
      const own = parsed.filter((l) => l.stage === n);
      // INFO lines are the odd ones, plus "started" and "finished"
      expect(own.filter((l) => l.msg.startsWith("info line "))).toHaveLength(lines / 2);
      expect(own.map((l) => l.msg)).toContain(`stage ${n} finished`);
      expect(own.some((l) => l.level === "DEBUG")).toBe(false);
      const stageLog = readLogLines(join(run, n, "stage.log"));
      expect(stageLog).toHaveLength(lines + 2);
      expect(new Set(stageLog.map((l) => l.trace_id)).size).toBe(1);
    }
  });

  it("the seed's StageIO style works as a process, and writes nothing to the console", async () => {
    const run = tempDir();
    const ok = await spawnStage({ OUTPUT_DIR: run, FIXTURE_STYLE: "stageio", FIXTURE_STAGE: "seed", FIXTURE_LINES: "4" });
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe("");
    expect(ok.stdout.replace(/FIXTURE_DONE \d+\n/, "")).toBe("");
    const failed = await spawnStage({ OUTPUT_DIR: run, FIXTURE_STYLE: "stageio", FIXTURE_STAGE: "seed2", FIXTURE_FAIL: "no input" });
    expect(failed.code).toBe(1);
    const m = readJson(join(run, "seed2", "manifest.json"));
    assertValidManifest(m);
    expect(m.status).toBe("failed");
    expect(m.errors[0]).toMatchObject({ type: "TypeError", message: "no input" });
  });

  it("prints INFO+ to stderr once when STAGETRACE_CONSOLE is set", async () => {
    const run = tempDir();
    const r = await spawnStage({ OUTPUT_DIR: run, FIXTURE_LINES: "4", STAGETRACE_CONSOLE: "info" });
    const lines = r.stderr.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.msg)).toEqual(["stage fixture started", "info line 1", "info line 3", "stage fixture finished"]);
  });

  it("keeps the secret out of every file and every byte sent over OTLP", async () => {
    const { startOtlpReceiver } = await import("./support/otlp-receiver.js");
    const receiver = await startOtlpReceiver();
    try {
      const run = tempDir();
      const secret = "eyJhbGciOiJIUzI1NiJ9-tmdb-4f1c";
      const r = await spawnStage({ OUTPUT_DIR: run, FIXTURE_SECRET: secret, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
      expect(r.code, r.stderr).toBe(0);
      for (const f of readdirSync(run, { recursive: true, encoding: "utf8" })) {
        const p = join(run, f);
        try {
          expect(readFileSync(p, "utf8"), p).not.toContain(secret);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EISDIR") throw e;
        }
      }
      expect(receiver.requests.length).toBeGreaterThan(0);
      for (const req of receiver.requests) {
        expect(req.rawBody.toString("utf8")).not.toContain(secret);
        expect(JSON.stringify(req.body)).not.toContain(secret); // decoded, in case the body was compressed
      }
      expect(receiver.logRecords().map((l) => l.body)).toContain("calling the API with [REDACTED]");
    } finally {
      await receiver.close();
    }
  });
});

describe("a stage that never calls finalize()", () => {
  it.each([
    ["ends naturally", "no-finalize"],
    ["calls process.exit()", "exit-without-finalize"],
  ])("is recorded as failed with the reason when the process %s, and keeps its exit code", async (_how, style) => {
    const run = tempDir();
    const r = await spawnStage({ OUTPUT_DIR: run, FIXTURE_STYLE: style, FIXTURE_STAGE: "forgot", FIXTURE_LINES: "3" });
    expect(r.code).toBe(0);
    const m = readJson(join(run, "forgot", "manifest.json"));
    assertValidManifest(m);
    expect(m).toMatchObject({ status: "failed", status_reason: "finalize() was not called" });
    expect(m.outputs).toHaveLength(1);
    expect(m.errors[0].message).toContain("without calling finalize()");
    const last = readLogLines(join(run, "forgot", "stage.log")).at(-1);
    expect(last).toMatchObject({ level: "ERROR", msg: "stage forgot failed: finalize() was not called" });
  });
});
