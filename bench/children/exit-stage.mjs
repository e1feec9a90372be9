// A finished stage and its way out: `node exit-stage.mjs <run dir>`. Logs
// 1,000 lines, writes and tracks a file, then prints a line and lets the
// process end on its own; the parent times done line → exit, with the OTLP
// endpoint from the environment (none, refusing or hanging).
import { writeFileSync } from "node:fs";

process.env.OUTPUT_DIR = process.argv[2];
const { runStage } = await import("stagetrace");
process.exitCode = await runStage("exit_check", (io) => {
  const log = io.getStageLogger("debug");
  for (let i = 0; i < 1000; i++) log.info({ i }, "working");
  const out = io.getOutputPath("result.txt");
  writeFileSync(out, "done\n");
  io.trackOutput(out, "text");
});
process.stdout.write(JSON.stringify({ done: true }) + "\n");
