// Shared helpers for the benchmark suite: statistics, child processes, the
// machine description and temporary directories.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, totalmem, tmpdir, release, platform } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const QUICK = process.env.BENCH_QUICK === "1";
export const CHILDREN = fileURLToPath(new URL("./children/", import.meta.url));

/** An integer from the environment, else `full`, else `quick` in a quick run. */
export function size(name, full, quick) {
  const raw = process.env[name];
  if (raw !== undefined && raw !== "") {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
    return n;
  }
  return QUICK ? quick : full;
}

export const ROUNDS = size("BENCH_ROUNDS", 5, 2);

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median, min, max and the spread ((max - min) / median) of a sample. */
export function summary(xs) {
  const med = median(xs);
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  return { median: med, min, max, spread: med === 0 ? 0 : (max - min) / med, n: xs.length };
}

export function tempDir(prefix) {
  return mkdtempSync(join(process.env.BENCH_TMPDIR || tmpdir(), `stagetrace-bench-${prefix}-`));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Runs `node <script> ...args` and resolves with its wall time (spawn to
 * exit, ms), exit code, stderr and the JSON object it printed last on stdout.
 */
export function runNode(script, args = [], env = {}, nodeArgs = []) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let lastLineAt = null;
    child.stdout.on("data", (d) => {
      stdout += d;
      lastLineAt = performance.now();
    });
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const end = performance.now();
      const lines = stdout.trim().split("\n").filter(Boolean);
      let result = null;
      try {
        result = lines.length ? JSON.parse(lines[lines.length - 1]) : null;
      } catch {
        result = null;
      }
      const out = {
        wallMs: end - start,
        exitAfterOutputMs: lastLineAt === null ? null : end - lastLineAt,
        code,
        signal,
        stderr,
        stdout,
        result,
      };
      if (code !== 0 && !env.BENCH_ALLOW_FAIL) reject(new Error(`${script} exited with ${code ?? signal}: ${stderr.slice(-2000)}`));
      else resolve(out);
    });
  });
}

export function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()}`,
  };
}

export function fmt(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en-US");
  return n.toFixed(digits);
}

export function pct(x) {
  return `±${Math.round(x * 50)}%`; // half the (max - min) / median range
}
