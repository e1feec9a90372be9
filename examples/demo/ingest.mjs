// Stage 1: produce the raw input of the pipeline (a generated CSV: no network).
import { writeFileSync } from "node:fs";
import { runStage } from "stagetrace";

process.exitCode = await runStage("ingest", async (io) => {
  const log = io.getStageLogger();
  const rows = Number(process.env.DEMO_ROWS ?? "500");
  io.setConfig({ rows, seed: 42, source: "generated" });

  let x = 42;
  const random = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const lines = ["id,station,temperature_c"];
  for (let i = 0; i < rows; i++) {
    // every 50th reading is a sensor glitch the next stage must drop
    const t = i % 50 === 49 ? -999 : Math.round((10 + random() * 15) * 10) / 10;
    lines.push(`${i},station-${i % 5},${t}`);
  }
  const out = io.getOutputPath("readings.csv");
  writeFileSync(out, lines.join("\n") + "\n");
  io.trackOutput(out, "csv", { rows });
  log.info({ rows }, "generated readings");
});
