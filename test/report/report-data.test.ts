// The report's data model, built from real run directories: the banner's
// problems, each stage's stage.log (bounded, records kept whole), resources.
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRun } from "../../src/run/load-run.js";
import { BANNER_STACK_LINES, buildReportData, LOG_BOUND, parseLogLine, stackExcerpt } from "../../src/report/report-data.js";
import { copyRun, editManifest, removeCopies, runFixture } from "./support.js";

let ok: string;
let failed: string;

beforeAll(() => {
  ok = runFixture();
  failed = runFixture({ FIXTURE_FAIL: "translate" });
}, 60_000);
afterAll(removeCopies);

describe("the banner's problems", () => {
  it("names a failed stage with its reason, its error's headline and the first lines of its stack", () => {
    const data = buildReportData(loadRun(failed));
    expect(data.problems).toHaveLength(1);
    const p = data.problems[0]!;
    expect(data.stages[p.stage]!.dir).toBe("03_translate");
    expect(p).toMatchObject({ state: "failed", reason: "translate failed on purpose (FIXTURE_FAIL)", headline: "RangeError: translate failed on purpose (FIXTURE_FAIL)" });
    // The stack's own first line repeats the headline; it is not shown twice.
    expect(p.lines[0]).toMatch(/^ {4}at failIfAsked \(.*stage\.mjs:\d+:\d+\)$/);
    expect(p.lines.length).toBeLessThanOrEqual(BANNER_STACK_LINES);
  });

  it("has none for a successful run", () => {
    expect(buildReportData(loadRun(ok)).problems).toEqual([]);
  });

  it("keeps a long Python traceback's first line and its last lines, where the exception is", () => {
    const frames = Array.from({ length: 30 }, (_, i) => `  File "job.py", line ${i + 1}, in f${i}\n    f${i + 1}()`);
    const stack = ["Traceback (most recent call last):", ...frames, "ValueError: bad row 7"].join("\n");
    const { lines, more } = stackExcerpt(stack, "ValueError: bad row 7");
    expect(lines).toHaveLength(BANNER_STACK_LINES);
    expect(lines[0]).toBe("Traceback (most recent call last):");
    expect(lines[1]).toBe("  …");
    expect(lines.at(-1)).toBe("ValueError: bad row 7");
    expect(more).toBe(stack.split("\n").length - (BANNER_STACK_LINES - 1));
  });

  it("falls back to the last ERROR record of the stage.log when the manifest holds no error", () => {
    const run = copyRun(failed);
    editManifest(run, "03_translate", (m) => {
      m.errors = [];
    });
    const traceback = 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nKeyError: \'lang\'';
    appendFileSync(join(run, "03_translate", "stage.log"), `${JSON.stringify({ level: "ERROR", time: 1, msg: traceback, stream: "stderr" })}\n`);
    const p = buildReportData(loadRun(run)).problems[0]!;
    expect(p.headline).toBe("Traceback (most recent call last):");
    expect(p.lines).toEqual(['  File "x.py", line 1, in <module>', "KeyError: 'lang'"]);
  });
});

describe("each stage's stage.log in the report", () => {
  it("holds every record, a multi-line message as one record, an error's stack with it", () => {
    const data = buildReportData(loadRun(failed));
    const log = data.stages.find((s) => s.dir === "03_translate")!.log!;
    expect(log.shownBytes).toBe(log.bytes);
    expect(log.entries.map((e) => e.l)).toContain("ERROR");
    const err = log.entries.find((e) => e.s !== "")!;
    expect(err.s).toMatch(/^RangeError: translate failed on purpose \(FIXTURE_FAIL\)\n {4}at /);
    expect(parseLogLine(JSON.stringify({ level: "ERROR", time: 5, msg: "a\nb\nc", stream: "stderr" }))).toEqual({ t: 5, l: "ERROR", m: "a\nb\nc", x: '{"stream":"stderr"}', s: "" });
    expect(parseLogLine("plain text")).toEqual({ t: null, l: "", m: "plain text", x: "", s: "" });
  });

  it("keeps only the end of a big stage.log, whole records, and says how much it kept", () => {
    const run = copyRun(ok);
    const path = join(run, "02_parse", "stage.log");
    const line = (i: number) => JSON.stringify({ level: "INFO", time: i, msg: `record ${i} ${"x".repeat(200)}` });
    writeFileSync(path, `${Array.from({ length: 5000 }, (_, i) => line(i)).join("\n")}\n`);
    const log = buildReportData(loadRun(run)).stages.find((s) => s.dir === "02_parse")!.log!;
    expect(log.bytes).toBeGreaterThan(LOG_BOUND.stageBytes);
    expect(log.shownBytes).toBeLessThanOrEqual(LOG_BOUND.stageBytes);
    expect(log.shownBytes).toBeGreaterThan(LOG_BOUND.stageBytes - 300);
    expect(log.entries.at(-1)!.m).toMatch(/^record 4999 /);
    // The first record kept is whole, and the ones before it are gone.
    const first = Number(/^record (\d+) /.exec(log.entries[0]!.m)![1]);
    expect(log.entries).toHaveLength(5000 - first);
    expect(log.entries[0]!.t).toBe(first);
  });
});

describe("resources per stage", () => {
  it("adds user and system CPU time and takes the peak RSS from the manifest", () => {
    const run = loadRun(ok);
    const data = buildReportData(run);
    run.stages.forEach((s, i) => {
      const r = s.manifest!.resources as Record<string, number>;
      expect(data.stages[i]!.cpuMs).toBe(r.cpu_user_ms! + r.cpu_system_ms!);
      expect(data.stages[i]!.rssMb).toBe(r.peak_rss_mb);
    });
  });
});
