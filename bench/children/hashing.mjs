// Hashing one large file in its own process: `node hashing.mjs <mode> <file> <run dir>`.
// baseline: node:crypto sha256 over 1 MiB readSync chunks (blocks the event loop).
// stagetrace: trackInput(file) and finalize awaited, with the event loop watched.
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, readFileSync, statSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

const [mode, file, runDir] = process.argv.slice(2);
const bytes = statSync(file).size;

function baseline() {
  const t0 = performance.now();
  const fd = openSync(file, "r");
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
  }
  closeSync(fd);
  const digest = hash.digest("hex");
  return { ms: performance.now() - t0, digest };
}

async function stagetrace() {
  process.env.OUTPUT_DIR = runDir;
  const { StageIO } = await import("stagetrace");
  const io = new StageIO("hashing");
  const h = monitorEventLoopDelay({ resolution: 1 });
  // A timer that must keep firing while the file is hashed.
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  h.enable();
  const t0 = performance.now();
  io.trackInput(file, "media");
  await io.finalize("success");
  const ms = performance.now() - t0;
  h.disable();
  clearInterval(ticker);
  const manifest = JSON.parse(readFileSync(io.manifestPath, "utf8"));
  return { ms, digest: manifest.inputs[0].hash, maxDelayMs: h.max / 1e6, p99DelayMs: h.percentile(99) / 1e6, ticks };
}

const r = mode === "baseline" ? baseline() : await stagetrace();
process.stdout.write(JSON.stringify({ ...r, mbPerSec: bytes / 1e6 / (r.ms / 1000) }) + "\n");
