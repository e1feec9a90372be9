// Pattern 3, an optional stage: it runs only when ENABLE_FEATURE=true and is
// otherwise finalized as `skipped` with a reason. A skipped stage still has a
// manifest and a stage.log, and exits 0.
//
//   OUTPUT_DIR=out/patterns node dist/examples/patterns/optional-stage.js                     (skipped)
//   ENABLE_FEATURE=true OUTPUT_DIR=out/patterns node dist/examples/patterns/optional-stage.js (runs)
import { runStage } from "stagetrace";

process.exitCode = await runStage("optional_stage", async (io) => {
  const log = io.getStageLogger();
  const enabled = (process.env.ENABLE_FEATURE ?? "false").toLowerCase() === "true";
  io.addConfig("enableFeature", enabled);
  if (!enabled) {
    log.info("ENABLE_FEATURE is not true; skipping the stage");
    // Finalizing in the body is allowed: runStage keeps this status.
    await io.finalize("skipped", { reason: "ENABLE_FEATURE is not true" });
    return;
  }

  log.info("feature enabled, processing");
  const input = io.getInputPath("primary.json", { fromStage: "complex_stage" });
  io.trackInput(input, "result");
  const { median } = io.loadJson<{ median: number | null }>("primary.json", { fromStage: "complex_stage" });
  const out = io.saveJson({ median, doubled: median === null ? null : median * 2 }, "feature.json");
  io.trackOutput(out, "feature");
});
