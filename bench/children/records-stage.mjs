// One stage that sends many records: `node records-stage.mjs <files|logs> <count> <files dir>`.
// files: trackInput of <count> files (f0.dat, f1.dat, ... in <files dir>), hashed;
// logs: <count> log lines, half DEBUG half INFO. Then finalize. Under
// `stagetrace run` with an agent, these are records for the agent; otherwise
// the stage does it all in this process. Prints when the first record was
// made (epoch ms), whether an agent was there, and this process's peak RSS.
import { join } from "node:path";

const AGENT_ENV = process.env.BENCH_AGENT_ENV || "STAGETRACE_AGENT";
const [mode, countArg, filesDir] = process.argv.slice(2);
const count = Number(countArg);
const paths = mode === "files" ? Array.from({ length: count }, (_, i) => join(filesDir, `f${i}.dat`)) : [];
const { StageIO } = await import("stagetrace");
const io = new StageIO("records");
const firstRecordEpochMs = performance.timeOrigin + performance.now();
if (mode === "files") {
  for (const p of paths) io.trackInput(p, "data");
} else {
  const log = io.getStageLogger("debug");
  for (let i = 0; i < count; i++) {
    if (i & 1) log.info({ i }, "an info line");
    else log.debug({ i }, "a debug line");
  }
}
await io.finalize("success");
process.stdout.write(
  JSON.stringify({
    firstRecordEpochMs,
    finalizedEpochMs: performance.timeOrigin + performance.now(),
    agent: Boolean(process.env[AGENT_ENV]),
    manifestPath: io.manifestPath,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  }) + "\n",
);
