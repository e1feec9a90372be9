// Shared helpers for the benchmark suite: statistics, child processes, the
// machine description and temporary directories.
import { createHash } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem, tmpdir, release, platform } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const QUICK = process.env.BENCH_QUICK === "1";
export const CHILDREN = fileURLToPath(new URL("./children/", import.meta.url));
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The built CLI (bin/stagetrace, which loads dist/). */
export const CLI = join(ROOT, "bin", "stagetrace");

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
 * `execPath` is the node binary (another Node line's, from nodeBinary()),
 * `onSpawn` gets the child once it has started (to sample it from /proc).
 */
export function runNode(script, args = [], env = {}, nodeArgs = [], { execPath = process.execPath, onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(execPath, [...nodeArgs, script, ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    onSpawn?.(child);
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
        endEpochMs: performance.timeOrigin + end,
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

/**
 * The node binary of another Node line (`node scripts/node-binaries.mjs <major>`,
 * which fetches it once into the git-ignored .node-versions/), or null and why not.
 */
export function nodeBinary(major) {
  if (process.versions.node.split(".")[0] === String(major)) return { node: process.execPath };
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", "node-binaries.mjs"), String(major)], {
    encoding: "utf8",
    timeout: 600_000,
  });
  const dir = (r.stdout ?? "").trim().split("\n").pop();
  if (r.status !== 0 || !dir || !existsSync(join(dir, "node"))) {
    return { node: null, why: `Node ${major} could not be had (${(r.stderr || r.error?.message || "").trim().split("\n").pop()})` };
  }
  return { node: join(dir, "node") };
}

/**
 * Samples the peak RSS (VmHWM) of `pid` and of those of its descendants whose
 * command line `keep` accepts, every 20 ms until stop() (Linux /proc; elsewhere null).
 */
export function sampleTreePeak(pid, keep = () => true) {
  const peaks = new Map();
  const kb = (p) => {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  };
  const children = (p) => {
    try {
      return readdirSync(`/proc/${p}/task`).flatMap((t) =>
        readFileSync(`/proc/${p}/task/${t}/children`, "utf8").trim().split(" ").filter(Boolean).map(Number),
      );
    } catch {
      return [];
    }
  };
  const cmdline = (p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
      return "";
    }
  };
  const tick = () => {
    const todo = [pid];
    while (todo.length) {
      const p = todo.pop();
      if (p === pid || keep(cmdline(p))) {
        const v = kb(p);
        if (v > (peaks.get(p) ?? 0)) peaks.set(p, v);
      }
      todo.push(...children(p));
    }
  };
  tick();
  const timer = setInterval(tick, 20);
  return {
    stop() {
      clearInterval(timer);
      if (!existsSync("/proc/self/status")) return null;
      return Math.max(0, ...peaks.values()) / 1024; // MB
    },
  };
}

/**
 * A venv in the git-ignored .bench-venvs/ with the Python package installed by
 * pip from a copy of python/ (as python/tests/test_install.py does), made once
 * and made again when the package's sources change. Returns its python.
 */
export function pythonWithPackage() {
  const source = join(ROOT, "python");
  const hash = createHash("sha256");
  for (const f of [
    "pyproject.toml",
    ...readdirSync(join(source, "stagetrace"))
      .filter((n) => n.endsWith(".py"))
      .map((n) => `stagetrace/${n}`),
  ].sort()) {
    hash.update(f).update(readFileSync(join(source, f)));
  }
  const stamp = hash.digest("hex");
  const root = join(ROOT, ".bench-venvs", "python");
  const python = join(root, "bin", "python");
  const marker = join(root, "installed-from.txt");
  if (existsSync(python) && existsSync(marker) && readFileSync(marker, "utf8") === stamp) return python;
  const building = `${root}.building-${process.pid}`;
  const copy = `${building}-src`;
  const run = (argv) => {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 600_000 });
    if (r.status !== 0) throw new Error(`${argv.join(" ")} failed: ${(r.stderr || r.stdout || r.error?.message || "").slice(-1500)}`);
  };
  process.stdout.write("  (making the Python venv in .bench-venvs/: python3 -m venv, pip install ./python)\n");
  try {
    cpSync(source, copy, { recursive: true, filter: (p) => !/[\\/](\.test-venvs|tests|build|__pycache__|[^\\/]*\.egg-info)$/.test(p) });
    run(["python3", "-m", "venv", building]);
    run([join(building, "bin", "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", copy]);
    writeFileSync(join(building, "installed-from.txt"), stamp);
    rmSync(root, { recursive: true, force: true });
    renameSync(building, root);
  } finally {
    rmSync(copy, { recursive: true, force: true });
    rmSync(building, { recursive: true, force: true });
  }
  return python;
}
