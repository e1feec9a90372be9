// Many empty stages in one process: `node empty-stages.mjs <mode> <run dir> <count>`.
// stagetrace: `runStage` with an empty body, local exporters only (manifest.json,
// stage.log, pipeline log per stage). baseline: an empty async function.
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
