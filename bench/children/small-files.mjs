// Tracking many small files in its own process: `node small-files.mjs <mode> <files dir> <count> <run dir>`.
// baseline: statSync + sha256 of each file's content in a plain loop.
// stagetrace: trackInput for each file, then finalize awaited (manifest written).
import { createHash } from "node:crypto";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [mode, dir, countArg, runDir] = process.argv.slice(2);
const count = Number(countArg);
const paths = Array.from({ length: count }, (_, i) => join(dir, `f${i}.dat`));

function baseline() {
  const out = [];
  const t0 = performance.now();
  for (const p of paths) {
    const st = statSync(p);
    out.push({ path: p, size: st.size, mtime: st.mtimeMs, hash: createHash("sha256").update(readFileSync(p)).digest("hex") });
  }
  return { ms: performance.now() - t0, trackMs: null, files: out.length };
}

async function stagetrace() {
  process.env.OUTPUT_DIR = runDir;
  const { StageIO } = await import("stagetrace");
  const io = new StageIO("small_files");
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  for (const p of paths) io.trackInput(p, "data");
  const t1 = performance.now();
  const rssTracked = process.memoryUsage().rss;
  await io.finalize("success");
  const ms = performance.now() - t0;
  const manifest = JSON.parse(readFileSync(io.manifestPath, "utf8"));
  if (manifest.inputs.length !== count || manifest.inputs.some((f) => !f.hash)) throw new Error("manifest incomplete");
  // The floor under any manifest of this many files: serialising it and writing it, nothing else.
  const w0 = performance.now();
  writeFileSync(`${io.manifestPath}.floor`, JSON.stringify(manifest, null, 2) + "\n");
  const manifestWriteMs = performance.now() - w0;
  rmSync(`${io.manifestPath}.floor`);
  return {
    ms,
    trackMs: t1 - t0,
    manifestWriteMs,
    files: manifest.inputs.length,
    bytesPerFileWhileTracking: (rssTracked - rss0) / count,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

const r = mode === "baseline" ? baseline() : await stagetrace();
process.stdout.write(JSON.stringify(r) + "\n");
