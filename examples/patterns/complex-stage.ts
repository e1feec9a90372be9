// Pattern 2, a complex stage: several inputs (one of them optional), a cache,
// a temporary file, several outputs, config and a warning.
//
// Written in the seed's own style: `new StageIO`, try/catch, and an explicit
// `finalize()` on every path. runStage (pattern 1) does the same with less code.
//
//   OUTPUT_DIR=out/patterns STAGETRACE_STAGES=simple_stage,complex_stage,optional_stage \
//     node dist/examples/patterns/complex-stage.js
//
// Inputs: output.json of simple_stage and the run's input.json; glossary.json
// in the run directory when there is one. Outputs: primary.json and secondary.json.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StageIO } from "stagetrace";

interface Sorted {
  values: number[];
  count: number;
  sum: number;
}

const io = new StageIO("complex_stage");
const log = io.getStageLogger();

try {
  log.info("starting complex processing");

  // Several inputs. fromStage names the stage whose directory holds the file.
  const sortedPath = io.getInputPath("output.json", { fromStage: "simple_stage" });
  const rawPath = join(io.outputBase, "input.json");
  const glossaryPath = join(io.outputBase, "glossary.json");
  io.trackInput(sortedPath, "json", { role: "sorted values" });
  io.trackInput(rawPath, "json", { role: "raw values" });
  const useGlossary = existsSync(glossaryPath); // an optional input: track it only when it is there
  if (useGlossary) io.trackInput(glossaryPath, "glossary");

  // A cache that outlives the stage: built once, reused by later runs that share the directory.
  const threshold = Number(process.env.COMPLEX_THRESHOLD ?? "2");
  io.setConfig({ model: "median-v1", threshold, usedGlossary: useGlossary });
  const cachePath = io.getOutputPath(".cache/model.json");
  if (!existsSync(cachePath)) {
    log.info("building the model cache");
    writeFileSync(cachePath, JSON.stringify({ model: "median-v1", built: new Date().toISOString() }));
  }
  io.trackIntermediate(cachePath, { retained: true, reason: "model cache, reused by later runs" });

  // A temporary file: tracked (so the manifest says it existed and why), then removed.
  const sorted = io.loadJson<Sorted>("output.json", { fromStage: "simple_stage" });
  const tempDir = join(io.stageDir, ".temp");
  mkdirSync(tempDir, { recursive: true });
  const tempPath = join(tempDir, "work.json");
  writeFileSync(tempPath, JSON.stringify(sorted.values));
  io.trackIntermediate(tempPath, { retained: false, reason: "working copy of the values" });
  const values = JSON.parse(readFileSync(tempPath, "utf8")) as number[];
  rmSync(tempDir, { recursive: true, force: true });

  // A warning: in the manifest's `warnings`, on the span, and in the logs.
  const above = values.filter((v) => v > threshold);
  if (above.length === 0) {
    const message = `no value is above the threshold ${threshold}`;
    log.warn(message);
    io.addWarning(message);
  }

  // Several outputs, told apart by their metadata.
  const median = values.length === 0 ? null : values[Math.floor(values.length / 2)];
  const primary = io.saveJson({ median, count: sorted.count }, "primary.json");
  const secondary = io.saveJson({ above, threshold }, "secondary.json");
  io.trackOutput(primary, "result", { kind: "primary" });
  io.trackOutput(secondary, "result", { kind: "secondary", above: above.length });

  await io.finalize("success");
  log.info("complex processing done");
} catch (error) {
  // The error (type, message, stack) goes to the manifest's `errors`; the status to `failed`.
  const message = error instanceof Error ? error.message : String(error);
  log.error({ err: error }, `failed: ${message}`);
  io.addError(message, error);
  await io.finalize("failed", { reason: message });
  process.exitCode = 1;
}
