// Stage 3 (optional): skipped unless ENABLE_ENRICH=true, as in the seed's optional-stage pattern.
import { runStage } from "stagetrace";

process.exitCode = await runStage("enrich", async (io) => {
  const log = io.getStageLogger();
  if ((process.env.ENABLE_ENRICH ?? "false").toLowerCase() !== "true") {
    log.info("ENABLE_ENRICH is not true, skipping stage");
    await io.finalize("skipped", { reason: "ENABLE_ENRICH is not true" });
    return;
  }
  const readings = io.loadJson("readings.json", { fromStage: "clean" });
  io.trackInput(io.getInputPath("readings.json", { fromStage: "clean" }), "json");
  const stations = [...new Set(readings.map((r) => r.station))].map((s) => ({ station: s, region: "north" }));
  io.trackOutput(io.saveJson(stations, "stations.json"), "json", { stations: stations.length });
});
