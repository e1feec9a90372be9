// Many empty stages in one process: `node empty-stages.mjs <mode> <run dir> <count>`.
// stagetrace: `runStage` with an empty body, local exporters only (manifest.json,
// stage.log, pipeline log per stage). baseline: an empty async function. floor: the
// same file operations with node built-ins only, what this file system makes them cost.
// Prints the median and p90 per stage in ms.
const [mode, runDir, countArg] = process.argv.slice(2);
const count = Number(countArg);
process.env.OUTPUT_DIR = runDir;

const times = [];
if (mode === "stagetrace") {
  const { runStage } = await import("stagetrace");
  const body = async () => {};
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await runStage(`stage_${i}`, body);
    times.push(performance.now() - t0);
  }
} else if (mode === "floor") {
  // The file operations an empty stage makes, with node built-ins and nothing else: its
  // directory, the running and the final manifest and the lease (each a temp file renamed
  // into place), the lease removed, a line appended to stage.log and two to the pipeline log.
  const { appendFileSync, mkdirSync, renameSync, unlinkSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const text = "x".repeat(1200);
  const replace = (path, body) => {
    writeFileSync(`${path}.tmp`, body, { flag: "wx" });
    renameSync(`${path}.tmp`, path);
  };
  mkdirSync(join(runDir, "logs"), { recursive: true });
  const pipelineLog = join(runDir, "logs", "pipeline.log");
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const dir = join(runDir, `stage_${i}`);
    mkdirSync(dir);
    replace(join(dir, "manifest.json"), text);
    replace(join(dir, ".lease.json"), "{}");
    appendFileSync(join(dir, "stage.log"), "started\n");
    appendFileSync(pipelineLog, "started\n");
    replace(join(dir, "manifest.json"), text);
    unlinkSync(join(dir, ".lease.json"));
    appendFileSync(pipelineLog, "finished\n");
    await null;
    times.push(performance.now() - t0);
  }
} else {
  const body = async () => {};
  const run = async (_name, fn) => {
    await fn();
    return 0;
  };
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await run(`stage_${i}`, body);
    times.push(performance.now() - t0);
  }
}
times.sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
process.stdout.write(JSON.stringify({ medianMs: at(0.5), p90Ms: at(0.9), totalMs: times.reduce((a, b) => a + b, 0) }) + "\n");
