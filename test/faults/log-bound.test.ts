// How many log lines a crash can cost. Lines are buffered for at most
// LOG_FLUSH_INTERVAL_MS (100 ms) before they are written, so after kill -9
// only the newest lines may be missing; every other way a process ends
// writes them all. Checked for stage.log and the pipeline log alike.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LOG_FLUSH_INTERVAL_MS } from "../../src/log/log-files.js";
import { pipelineLogOf, readLogLines, tempDir } from "../support/tmp.js";
import { start, type Finished } from "./harness.js";

// The bound this suite proves: a line handed to the logger more than
// 100 ms + 400 ms before the kill is on disk. The 400 ms margin absorbs a
// flush timer that fires late on a loaded machine; the interval is 100 ms.
const KILL_BOUND_MS = LOG_FLUSH_INTERVAL_MS + 400;

/** tick number -> when the fixture handed it to the logger (from its stdout). */
function loggedTicks(r: Finished): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of r.stdout.matchAll(/^LOGGED (\d+) (\d+)$/gm)) out.set(Number(m[1]), Number(m[2]));
  return out;
}

/** The tick numbers in a log file, in file order (every line must parse: no torn line). */
function ticksIn(path: string): number[] {
  return readLogLines(path)
    .filter((l) => typeof l.tick === "number")
    .map((l) => l.tick as number);
}

function files(runDir: string): [string, string][] {
  return [
    ["stage.log", join(runDir, "faulty", "stage.log")],
    ["pipeline log", pipelineLogOf(runDir)],
  ];
}

describe("log lines around a crash", () => {
  it(`after kill -9, only lines from the last ${KILL_BOUND_MS} ms can be missing, and only the newest`, async () => {
    for (let round = 0; round < 3; round++) {
      const runDir = tempDir();
      const p = start({ OUTPUT_DIR: runDir, FAULT_MODE: "wait", FAULT_TICK_MS: "2" });
      // Let it log for a while (several flush intervals), then kill it mid-stream.
      await p.line(new RegExp(`^LOGGED ${200 + round * 97} `));
      const killedAt = Date.now();
      p.child.kill("SIGKILL");
      const r = await p.done;
      expect(r.signal).toBe("SIGKILL");
      const logged = loggedTicks(r);
      for (const [what, path] of files(runDir)) {
        const ticks = ticksIn(path);
        // Whole lines, in order, no gaps: what is missing is a tail.
        expect(ticks, what).toEqual(ticks.map((_, i) => i));
        const missingOld = [...logged].filter(([i, t]) => i >= ticks.length && t < killedAt - KILL_BOUND_MS);
        expect(missingOld, `${what}: lines older than ${KILL_BOUND_MS} ms missing`).toEqual([]);
        expect(ticks.length, what).toBeGreaterThan(0);
      }
    }
  });

  it.each([
    ["a normal exit", { FAULT_END_AT: "150" }, null, 0],
    ["SIGINT", {}, "SIGINT", 130],
    ["SIGTERM", {}, "SIGTERM", 143],
    ["an uncaught exception", { FAULT_THROW_AT: "150" }, null, 1],
  ] as const)("on %s, no line is lost", async (_what, env, signal, code) => {
    const runDir = tempDir();
    const p = start({ OUTPUT_DIR: runDir, FAULT_MODE: "wait", FAULT_TICK_MS: "2", ...env });
    if (signal) {
      await p.line(/^LOGGED 150 /);
      p.child.kill(signal);
    }
    const r = await p.done;
    // A signal ends the process by that signal (after the logs are written); the others by their code.
    if (signal) expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: null, signal });
    else expect(r.code, r.stderr).toBe(code);
    const logged = loggedTicks(r);
    expect(logged.size).toBeGreaterThanOrEqual(150);
    for (const [what, path] of files(runDir)) {
      const ticks = ticksIn(path);
      // Every line the fixture logged is there (a tick between the last stdout
      // report and the signal may be there too).
      expect(ticks.slice(0, logged.size), what).toEqual([...logged.keys()]);
      expect(ticks, what).toEqual(ticks.map((_, i) => i));
    }
  });
});
