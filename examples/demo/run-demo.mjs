// Runs the demo pipeline: each stage is its own process, sharing only the
// run directory (OUTPUT_DIR) and the stage list (STAGETRACE_STAGES).
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const stages = ["ingest", "clean", "enrich", "summarize"];
const runDir = resolve(process.env.OUTPUT_DIR ?? join("out", "demo", `run-${new Date().toISOString().replace(/[:.]/g, "-")}`));
const env = { ...process.env, OUTPUT_DIR: runDir, STAGETRACE_STAGES: stages.join(","), STAGETRACE_PIPELINE: "demo" };

let failed = false;
for (const stage of stages) {
  const r = spawnSync(process.execPath, [join(here, `${stage}.mjs`)], { env, stdio: "inherit" });
  if (r.status !== 0) {
    failed = true;
    console.error(`stage ${stage} exited with ${r.status ?? r.signal}; stopping the pipeline`);
    break;
  }
}

const show = (p) => relative(process.cwd(), p) || ".";
console.log(`\nRun directory: ${show(runDir)}`);
for (const dir of readdirSync(runDir).filter((d) => /^\d+_/.test(d)).sort()) {
  const m = JSON.parse(readFileSync(join(runDir, dir, "manifest.json"), "utf8"));
  const files = `${m.inputs.length} in, ${m.outputs.length} out`;
  const note = m.status_reason ? `  ${m.status_reason}` : m.warnings.length ? `  ${m.warnings[0].message}` : "";
  console.log(`  ${dir.padEnd(13)} ${m.status.padEnd(8)} ${String(Math.round(m.duration_ms)).padStart(4)} ms  ${files.padEnd(12)} trace ${m.trace.trace_id.slice(0, 8)}${note}`);
}
console.log(`Each stage directory holds manifest.json and stage.log (DEBUG and up).`);
console.log(`Pipeline log (INFO and up, every stage): ${show(join(runDir, "logs", readdirSync(join(runDir, "logs"))[0]))}`);
console.log(`Try: jq .inputs ${show(join(runDir, "02_clean", "manifest.json"))}`);
process.exitCode = failed ? 1 : 0;
