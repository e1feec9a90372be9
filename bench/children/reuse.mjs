// A file written and tracked by one stage process, then tracked as input by
// the next stage in another process: `node reuse.mjs <mode> <run dir> <count> <bytes>`.
// produce: stage "produce" writes <count> files and tracks them as outputs.
// consume: stage "consume" tracks the same files as inputs (hash reuse on unless
//          STAGETRACE_REUSE_HASHES=off); prints µs per trackInput.
// stat: statSync of the same files in a plain loop; prints µs per call.
import { randomFillSync } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [mode, runDir, countArg, bytesArg] = process.argv.slice(2);
const count = Number(countArg);
const names = Array.from({ length: count }, (_, i) => `part-${i}.bin`);
process.env.OUTPUT_DIR = runDir;
process.env.STAGETRACE_STAGES = "produce,consume";

if (mode === "produce") {
  const { runStage } = await import("stagetrace");
  const buf = Buffer.alloc(Number(bytesArg));
  await runStage("produce", (io) => {
    for (const name of names) {
      const out = io.getOutputPath(name);
      writeFileSync(out, randomFillSync(buf));
      io.trackOutput(out, "part");
    }
  });
  process.stdout.write(JSON.stringify({ ok: true }) + "\n");
} else if (mode === "consume") {
  const { StageIO } = await import("stagetrace");
  const io = new StageIO("consume");
  const paths = names.map((n) => io.getInputPath(n, { fromStage: "produce" }));
  const t0 = performance.now();
  for (const p of paths) io.trackInput(p, "part");
  const trackMs = performance.now() - t0;
  await io.finalize("success");
  const produced = JSON.parse(readFileSync(join(runDir, "01_produce", "manifest.json"), "utf8"));
  const consumed = JSON.parse(readFileSync(io.manifestPath, "utf8"));
  const same = consumed.inputs.every((f, i) => f.hash !== null && f.hash === produced.outputs[i].hash);
  process.stdout.write(JSON.stringify({ usPerFile: (trackMs * 1000) / count, hashesMatch: same }) + "\n");
} else {
  const paths = names.map((n) => join(runDir, "01_produce", n));
  const t0 = performance.now();
  for (const p of paths) statSync(p);
  process.stdout.write(JSON.stringify({ usPerFile: ((performance.now() - t0) * 1000) / count }) + "\n");
}
