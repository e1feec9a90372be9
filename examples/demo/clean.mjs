// Stage 2: read stage 1's output, drop bad rows, write JSON.
import { readFileSync } from "node:fs";
import { runStage } from "stagetrace";

process.exitCode = await runStage("clean", async (io) => {
  const log = io.getStageLogger("debug");
  const input = io.getInputPath("readings.csv", { fromStage: "ingest" });
  io.trackInput(input, "csv");
  const [, ...rows] = readFileSync(input, "utf8").trim().split("\n");
  const minValid = -60;
  io.setConfig({ minValidTemperature: minValid });

  const readings = [];
  for (const row of rows) {
    const [id, station, t] = row.split(",");
    if (Number(t) < minValid) {
      log.debug({ id }, "dropping glitched reading");
      continue;
    }
    readings.push({ id: Number(id), station, temperature: Number(t) });
  }
  const dropped = rows.length - readings.length;
  if (dropped > 0) {
    log.warn({ dropped }, `dropped ${dropped} glitched readings`);
    io.addWarning(`dropped ${dropped} of ${rows.length} readings below ${minValid} °C`);
  }
  if (process.env.FAIL_STAGE === "clean") throw new Error("FAIL_STAGE=clean: failing on purpose");
  io.trackOutput(io.saveJson(readings, "readings.json"), "json", { readings: readings.length, dropped });
});
