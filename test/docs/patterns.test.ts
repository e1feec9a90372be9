// The three stage patterns of docs/stage-guide.md (examples/patterns/), run as
// a reader would run them: each its own process, sharing one run directory.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { assertValidManifest } from "../support/schema.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "../support/tmp.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUILT = join(ROOT, "dist", "examples", "patterns");
const STAGES = "simple_stage,complex_stage,optional_stage";

function runPattern(file: string, runDir: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(BUILT, file)], {
    env: { PATH: process.env.PATH ?? "", OUTPUT_DIR: runDir, STAGETRACE_STAGES: STAGES, ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: r.status, stderr: r.stderr };
}

function manifest(runDir: string, dir: string) {
  const m = readJson(join(runDir, dir, "manifest.json"));
  assertValidManifest(m);
  return m;
}

function newRun(values: unknown = [3, 1, 2]): string {
  const run = tempDir("stagetrace-patterns-");
  writeFileSync(join(run, "input.json"), JSON.stringify({ values }));
  return run;
}

beforeAll(() => {
  for (const f of ["simple-stage.js", "complex-stage.js", "optional-stage.js"]) {
    if (!existsSync(join(BUILT, f))) throw new Error(`${join(BUILT, f)} is missing: build the examples (tsc -p examples/tsconfig.json)`);
  }
});

describe("stage patterns (examples/patterns)", () => {
  it("simple, complex and optional (skipped) run in order and leave valid manifests", () => {
    const run = newRun();
    expect(runPattern("simple-stage.js", run)).toMatchObject({ code: 0 });
    expect(runPattern("complex-stage.js", run)).toMatchObject({ code: 0 });
    expect(runPattern("optional-stage.js", run)).toMatchObject({ code: 0 });

    const simple = manifest(run, "01_simple_stage");
    expect(simple).toMatchObject({ stage: "simple_stage", stage_number: 1, status: "success", status_reason: null });
    expect(simple.inputs).toHaveLength(1);
    expect(simple.inputs[0]).toMatchObject({ name: "input.json", type: "json", exists: true, from_stage: null });
    expect(simple.outputs[0]).toMatchObject({ name: "output.json", metadata: { count: 3 } });
    expect(readJson(join(run, "01_simple_stage", "output.json"))).toEqual({ values: [1, 2, 3], count: 3, sum: 6 });
    // DEBUG goes to stage.log only; INFO to both logs.
    const stageLog = readLogLines(join(run, "01_simple_stage", "stage.log"));
    expect(stageLog.some((l) => l.level === "DEBUG" && l.msg === "sorted the values")).toBe(true);
    const pipelineLog = readLogLines(pipelineLogOf(run));
    expect(pipelineLog.some((l) => l.msg === "sorted the values")).toBe(false);
    expect(pipelineLog.some((l) => l.msg === "wrote 3 values")).toBe(true);

    const complex = manifest(run, "02_complex_stage");
    expect(complex).toMatchObject({ status: "success", config: { model: "median-v1", threshold: 2, usedGlossary: false } });
    expect(complex.inputs.map((i: { name: string; from_stage: string | null }) => [i.name, i.from_stage])).toEqual([
      ["output.json", "simple_stage"],
      ["input.json", null],
    ]);
    expect(complex.outputs.map((o: { metadata: { kind: string } }) => o.metadata.kind)).toEqual(["primary", "secondary"]);
    expect(complex.intermediate_files).toEqual([
      expect.objectContaining({ name: "model.json", retained: true, exists: true }),
      expect.objectContaining({ name: "work.json", retained: false, reason: "working copy of the values" }),
    ]);
    expect(complex.warnings).toEqual([]);

    const optional = manifest(run, "03_optional_stage");
    expect(optional).toMatchObject({ status: "skipped", status_reason: "ENABLE_FEATURE is not true", config: { enableFeature: false } });
    expect(optional.inputs).toEqual([]);
    expect(existsSync(join(run, "03_optional_stage", "feature.json"))).toBe(false);
    expect(readFileSync(join(run, "03_optional_stage", "stage.log"), "utf8")).toContain("skipping the stage");
  });

  it("the optional stage runs when ENABLE_FEATURE=true; the complex stage takes the glossary and warns", () => {
    const run = newRun([1, 2]);
    writeFileSync(join(run, "glossary.json"), JSON.stringify({ terms: [] }));
    expect(runPattern("simple-stage.js", run).code).toBe(0);
    expect(runPattern("complex-stage.js", run).code).toBe(0);
    expect(runPattern("optional-stage.js", run, { ENABLE_FEATURE: "true" }).code).toBe(0);

    const complex = manifest(run, "02_complex_stage");
    expect(complex.config.usedGlossary).toBe(true);
    expect(complex.inputs.map((i: { name: string }) => i.name)).toContain("glossary.json");
    expect(complex.warnings.map((w: { message: string }) => w.message)).toEqual(["no value is above the threshold 2"]);

    const optional = manifest(run, "03_optional_stage");
    expect(optional).toMatchObject({ status: "success", config: { enableFeature: true } });
    expect(optional.inputs[0]).toMatchObject({ name: "primary.json", from_stage: "complex_stage" });
    expect(readJson(join(run, "03_optional_stage", "feature.json"))).toEqual({ median: 2, doubled: 4 });
  });

  it("a stage that throws is failed, exits 1 and records the error", () => {
    const run = newRun("not a list");
    const r = runPattern("simple-stage.js", run);
    expect(r.code).toBe(1);
    const simple = manifest(run, "01_simple_stage");
    expect(simple.status).toBe("failed");
    expect(simple.status_reason).toContain('"values" must be a list of numbers');
    expect(simple.errors[0]).toMatchObject({ type: "Error" });
    expect(simple.outputs).toEqual([]);

    // The next stage finds no output.json: it fails too, naming the file.
    expect(runPattern("complex-stage.js", run).code).toBe(1);
    const complex = manifest(run, "02_complex_stage");
    expect(complex.status).toBe("failed");
    expect(complex.errors[0].message).toContain("output.json");
  });
});
