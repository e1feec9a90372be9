// One empty stage process of the pipeline case: `node pipeline-stage.mjs <mode> <name>`.
// stagetrace: imports stagetrace and runs an empty runStage (manifest, stage.log,
// pipeline log written). plain: the same process without stagetrace.
const [mode, name] = process.argv.slice(2);
if (mode === "stagetrace") {
  // BENCH_STAGETRACE_MODULE: the single-file bundle experiment.
  const { runStage } = await import(process.env.BENCH_STAGETRACE_MODULE || "stagetrace");
  process.exitCode = await runStage(name, async () => {});
}
