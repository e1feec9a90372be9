// Stage 4: aggregate per station; keeps a small cache file as an intermediate.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runStage } from "stagetrace";

process.exitCode = await runStage("summarize", async (io) => {
  const log = io.getStageLogger();
  const readings = io.loadJson("readings.json", { fromStage: "clean" });
  io.trackInput(io.getInputPath("readings.json", { fromStage: "clean" }), "json");

  const cacheDir = join(io.stageDir, ".cache");
  mkdirSync(cacheDir, { recursive: true });
  const cache = join(cacheDir, "stations.idx");
  if (!existsSync(cache)) writeFileSync(cache, "station-0\nstation-1\nstation-2\nstation-3\nstation-4\n");
  io.trackIntermediate(cache, { retained: true, reason: "station index reused by later runs" });

  const byStation = {};
  for (const r of readings) {
    const s = (byStation[r.station] ??= { station: r.station, count: 0, sum: 0 });
    s.count++;
    s.sum += r.temperature;
  }
  const summary = Object.values(byStation).map((s) => ({
    station: s.station,
    readings: s.count,
    mean_c: Math.round((s.sum / s.count) * 100) / 100,
  }));
  io.trackOutput(io.saveJson(summary, "summary.json"), "json", { stations: summary.length });
  io.setResources({ stations: summary.length });
  log.info({ stations: summary.length }, "summary written");
});
