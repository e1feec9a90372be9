import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { assertValidManifest } from "./support/schema.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "./support/tmp.js";

const DEMO = fileURLToPath(new URL("../examples/demo/run-demo.mjs", import.meta.url));

function runDemo(env: Record<string, string>) {
  const run = tempDir();
  const r = spawnSync(process.execPath, [DEMO], {
    env: { PATH: process.env.PATH ?? "", ...env, OUTPUT_DIR: run },
    encoding: "utf8",
  });
  return { run, ...r };
}

describe("npm run demo", () => {
  it("runs four stages as separate processes: one reads another's output, one is skipped", () => {
    const { run, status, stdout, stderr } = runDemo({});
    expect(status, stderr).toBe(0);
    const m = (dir: string) => {
      const manifest = readJson(join(run, dir, "manifest.json"));
      assertValidManifest(manifest);
      return manifest;
    };
    const ingest = m("01_ingest");
    const clean = m("02_clean");
    const enrich = m("03_enrich");
    const summarize = m("04_summarize");
    expect([ingest.status, clean.status, enrich.status, summarize.status]).toEqual(["success", "success", "skipped", "success"]);
    expect(enrich.status_reason).toBe("ENABLE_ENRICH is not true");
    // lineage: what clean read is byte for byte what ingest wrote
    expect(clean.inputs[0]).toMatchObject({ from_stage: "ingest", path: ingest.outputs[0].path, hash: ingest.outputs[0].hash });
    expect(summarize.inputs[0]).toMatchObject({ from_stage: "clean", hash: clean.outputs[0].hash });
    expect(summarize.intermediate_files[0]).toMatchObject({ retained: true });
    expect(clean.warnings[0].message).toMatch(/dropped 10 of 500 readings/);

    const lines = readLogLines(pipelineLogOf(run));
    expect(new Set(lines.map((l) => l.stage))).toEqual(new Set(["ingest", "clean", "enrich", "summarize"]));
    expect(lines.some((l) => l.level === "DEBUG")).toBe(false);
    expect(readLogLines(join(run, "02_clean", "stage.log")).some((l) => l.level === "DEBUG")).toBe(true);
    expect(stdout).toContain("02_clean");
    expect(stdout).toContain("Pipeline log");
  });

  it("shows a failure when FAIL_STAGE names a stage, and stops there", () => {
    const { run, status, stderr } = runDemo({ FAIL_STAGE: "clean" });
    expect(status).toBe(1);
    expect(stderr).toContain("stage clean exited with 1");
    const clean = readJson(join(run, "02_clean", "manifest.json"));
    expect(clean).toMatchObject({ status: "failed", status_reason: "FAIL_STAGE=clean: failing on purpose" });
    expect(clean.errors[0].stack).toContain("clean.mjs");
    expect(existsSync(join(run, "04_summarize"))).toBe(false);
  });
});
