import { readFileSync } from "node:fs";

/**
 * What a command cost, measured from outside it on Linux: CPU from this
 * process's `cutime`/`cstime` (exact: every descendant the command waited
 * for is included once it is reaped), peak RSS sampled from `/proc` over the
 * command's process tree. Elsewhere the values are null.
 */
export interface CommandResources {
  wall_time_ms: number;
  cpu_user_ms: number | null;
  cpu_system_ms: number | null;
  peak_rss_mb: number | null;
}

// USER_HZ is 100 on every Linux ABI Node runs on.
const TICK_MS = 10;

function childCpuTicks(): { user: number; system: number } | null {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields after the command name start at field 3 (state); cutime is field 16, cstime 17.
    return { user: Number(fields[13]), system: Number(fields[14]) };
  } catch {
    return null;
  }
}

function readKb(pid: number, key: "VmRSS" | "VmHWM"): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter((s) => s !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** Monotonic milliseconds (the global `performance` loads perf_hooks, about a dozen modules, on first use). */
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Samples the process tree under `pid` until `stop()`; returns what the command cost. */
export class ResourceMonitor {
  private readonly startedAt = nowMs();
  private readonly cpuBefore = childCpuTicks();
  private peakKb = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number | undefined,
    intervalMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    if (this.pid === undefined || process.platform !== "linux") return;
    let total = 0;
    const seen = new Set<number>();
    const queue = [this.pid];
    while (queue.length > 0 && seen.size < 10_000) {
      const p = queue.pop()!;
      if (seen.has(p)) continue;
      seen.add(p);
      total += readKb(p, "VmRSS");
      queue.push(...childrenOf(p));
    }
    this.peakKb = Math.max(this.peakKb, total, readKb(this.pid, "VmHWM"));
  }

  /** Call once the command has exited (and been reaped). */
  stop(): CommandResources {
    clearInterval(this.timer);
    const after = childCpuTicks();
    const cpu = this.cpuBefore && after ? { user: after.user - this.cpuBefore.user, system: after.system - this.cpuBefore.system } : null;
    return {
      wall_time_ms: Math.round(nowMs() - this.startedAt),
      cpu_user_ms: cpu ? cpu.user * TICK_MS : null,
      cpu_system_ms: cpu ? cpu.system * TICK_MS : null,
      peak_rss_mb: this.peakKb > 0 ? Math.round((this.peakKb / 1024) * 10) / 10 : null,
    };
  }
}
