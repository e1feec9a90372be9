// One empty stage process of the pipeline case: `node pipeline-stage.mjs <mode> <name>`.
// stagetrace: imports stagetrace and runs an empty runStage (manifest, stage.log,
// pipeline log written). plain: the same process without stagetrace.
// floor-api / floor-none: the least any stage could do, to show how far the
// target is reachable: ids, a manifest.json (temp file + rename) and a line in
// stage.log and the pipeline log, written with node built-ins only; floor-api
// also loads @opentelemetry/api (its CommonJS build, the cheaper to load), the
// least a stage that is an OpenTelemetry span needs.
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

const [mode, name] = process.argv.slice(2);
if (mode === "stagetrace") {
  // BENCH_STAGETRACE_MODULE: the single-file bundle experiment.
  const { runStage } = await import(process.env.BENCH_STAGETRACE_MODULE || "stagetrace");
  process.exitCode = await runStage(name, async () => {});
} else if (mode === "floor-api" || mode === "floor-none") {
  if (mode === "floor-api") createRequire(import.meta.url)("@opentelemetry/api");
  const run = process.env.OUTPUT_DIR;
  const dir = join(run, name);
  mkdirSync(dir, { recursive: true });
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  const started = new Date().toISOString();
  const line =
    JSON.stringify({ level: 30, time: Date.now(), stage: name, trace_id: traceId, span_id: spanId, msg: `stage ${name} finished` }) + "\n";
  appendFileSync(join(dir, "stage.log"), line);
  appendFileSync(join(run, "pipeline.log"), line);
  const manifest = {
    stage: name,
    status: "success",
    trace: { trace_id: traceId, span_id: spanId },
    started_at: started,
    ended_at: new Date().toISOString(),
  };
  writeFileSync(join(dir, "manifest.json.tmp"), JSON.stringify(manifest, null, 2) + "\n");
  renameSync(join(dir, "manifest.json.tmp"), join(dir, "manifest.json"));
}
