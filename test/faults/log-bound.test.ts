// How many log lines a crash can cost. Lines are buffered for at most
// LOG_FLUSH_INTERVAL_MS (100 ms) before they are written, so after kill -9
// only the newest lines may be missing; every other way a process ends
// writes them all. Checked for stage.log and the pipeline log alike.
//
// No test here measures time: the bound's mechanism is checked (the flush
// is scheduled LOG_FLUSH_INTERVAL_MS after a write, and it runs on its own,
// with no exit and no further line to push it), and a kill mid-stream can
// only cost a tail of whole lines. How long a line really waits on a busy
// machine is a size, not a property, and a loaded machine may stretch it.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LOG_FLUSH_INTERVAL_MS, LogFiles } from "../../src/log/log-files.js";
import { pipelineLogOf, readLogLines, tempDir } from "../support/tmp.js";
import { until } from "../support/until.js";
import { start, type Finished } from "./harness.js";

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

describe("the flush deadline", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it(`a buffered line reaches the file ${LOG_FLUSH_INTERVAL_MS} ms after it was written, not before`, () => {
    vi.useFakeTimers();
    const path = join(mkdtempSync(join(tmpdir(), "stagetrace-flush-")), "x.log");
    const logs = new LogFiles(() => {});
    try {
      logs.open(path).write("first\n");
      expect(readFileSync(path, "utf8")).toBe("");
      vi.advanceTimersByTime(LOG_FLUSH_INTERVAL_MS - 1);
      expect(readFileSync(path, "utf8")).toBe("");
      vi.advanceTimersByTime(1);
      expect(readFileSync(path, "utf8")).toBe("first\n");
      // The next line gets the same deadline from the same timer.
      logs.open(path).write("second\n");
      vi.advanceTimersByTime(LOG_FLUSH_INTERVAL_MS);
      expect(readFileSync(path, "utf8")).toBe("first\nsecond\n");
    } finally {
      logs.close();
    }
  });
});

describe("log lines around a crash", () => {
  it("a stage that stops logging gets every line on disk while it is still alive, so kill -9 then loses none", async () => {
    const runDir = tempDir();
    const p = start({ OUTPUT_DIR: runDir, FAULT_MODE: "wait", FAULT_TICK_MS: "2", FAULT_PAUSE_AT: "200" });
    await p.line(/^PAUSED 200$/);
    // Nothing else happens in the stage now: only the periodic flush can write these.
    for (const [, path] of files(runDir)) await until(`200 lines in ${path}`, () => ticksIn(path).length === 200);
    p.child.kill("SIGKILL");
    const r = await p.done;
    expect(r.signal).toBe("SIGKILL");
    for (const [what, path] of files(runDir)) expect(ticksIn(path), what).toEqual([...Array(200).keys()]);
  });

  it("after kill -9 mid-stream, what is missing is a tail of whole lines", async () => {
    for (let round = 0; round < 3; round++) {
      const runDir = tempDir();
      const p = start({ OUTPUT_DIR: runDir, FAULT_MODE: "wait", FAULT_TICK_MS: "2" });
      // Let it log for a while (several flush intervals), then kill it mid-stream.
      await p.line(new RegExp(`^LOGGED ${200 + round * 97} `));
      p.child.kill("SIGKILL");
      const r = await p.done;
      expect(r.signal).toBe("SIGKILL");
      const logged = loggedTicks(r);
      for (const [what, path] of files(runDir)) {
        const ticks = ticksIn(path);
        // Whole lines, in order, no gaps, none the stage did not log: what is missing is a tail.
        expect(ticks, what).toEqual(ticks.map((_, i) => i));
        expect(ticks.length, what).toBeLessThanOrEqual(logged.size + 1);
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
