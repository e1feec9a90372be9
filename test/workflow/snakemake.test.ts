// A pipeline driven by a real workflow engine: Snakemake (from PyPI,
// installed by the test on first use) runs a four-stage DAG with two rules at
// once (--cores 2). `run begin` and `run end` run as processes of their own
// before and after it; the jobs share only the run directory and the
// variables `run begin` printed. The result: one trace, one pipeline.json,
// one report.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRun } from "../../src/run/load-run.js";
import { buildReportData } from "../../src/report/report-data.js";
import { validateAgainstSchema } from "../../src/schema/validate.js";
import { CLI, runCli } from "../support/cli.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { ensureSnakemake } from "../support/snakemake.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "../support/tmp.js";
import { envLines } from "../support/run-env.js";

const WORKFLOW = fileURLToPath(new URL("../fixtures/workflow", import.meta.url));
const PYTHON_DIR = fileURLToPath(new URL("../../python", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin", import.meta.url));
const STAGES = ["prepare", "count_words", "checksum", "merge"];

let receiver: OtlpReceiver;
let python: string;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  python = await ensureSnakemake();
}, 600_000);
afterAll(() => receiver?.close());

function snakemake(args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ["-m", "snakemake", ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("a Snakemake pipeline (run begin, snakemake --cores 2, run end)", () => {
  it("is the Snakefile docs/schedulers.md shows", () => {
    const doc = readFileSync(fileURLToPath(new URL("../../docs/schedulers.md", import.meta.url)), "utf8");
    const block = /^<!-- snakefile: test\/fixtures\/workflow\/Snakefile -->\n```snakemake\n([\s\S]*?)^```$/m.exec(doc);
    expect(block, "docs/schedulers.md shows the Snakefile").not.toBeNull();
    expect(block![1]).toBe(readFileSync(join(WORKFLOW, "Snakefile"), "utf8"));
  });

  it("is one trace with correct parents, one pipeline.json with the parallel stages overlapping, and one report whose lineage is the DAG", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const begin = await runCli(["run", "begin", "--run-dir", run, "--name", "wordstats", "--stages", STAGES.join(",")], { env: otlp });
    expect(begin.code, begin.stderr).toBe(0);
    const vars = envLines(begin.stdout);
    expect(Object.keys(vars)).toEqual(["TRACEPARENT", "OUTPUT_DIR", "STAGETRACE_RUN_DIR", "STAGETRACE_RUN_ID", "STAGETRACE_PIPELINE", "STAGETRACE_STAGES"]);

    // Snakemake's jobs get nothing from run begin but these variables (and the run directory on disk).
    const env: Record<string, string> = {
      PATH: [BIN, process.env.PATH ?? ""].join(delimiter),
      HOME: process.env.HOME ?? "",
      PYTHONPATH: PYTHON_DIR,
      PYTHONDONTWRITEBYTECODE: "1",
      STAGETRACE_CLI: CLI,
      ...otlp,
      ...vars,
    };
    const work = join(dir, "work");
    mkdirSync(work);
    const smk = await snakemake(["--snakefile", join(WORKFLOW, "Snakefile"), "--cores", "2", "--directory", work], env, dir);
    expect(smk.code, smk.output).toBe(0);

    const end = await runCli(["run", "end", "--run-dir", run], { env: otlp });
    expect(end.code, end.stderr).toBe(0);
    expect(end.stderr).toBe(""); // quiet on success

    const summary = readJson(join(run, "pipeline.json"));
    expect(validateAgainstSchema("pipeline", summary)).toEqual([]);
    expect(summary).toMatchObject({ pipeline: "wordstats", status: "success", run_id: vars.STAGETRACE_RUN_ID });
    // Numbers are places in the stage list, whatever order Snakemake ran the rules in.
    expect(summary.stages.map((s: any) => [s.number, s.name, s.status, s.manifest])).toEqual(
      STAGES.map((name, i) => [i + 1, name, "success", `0${i + 1}_${name}/manifest.json`]),
    );
    const [, counted, summed] = summary.stages;
    // The two parallel stages overlapped (each waited for the other to start).
    expect(Date.parse(counted.started_at)).toBeLessThan(Date.parse(summed.ended_at));
    expect(Date.parse(summed.started_at)).toBeLessThan(Date.parse(counted.ended_at));

    // One trace: every stage span is a child of the run span, which run end exported under the ids run begin chose.
    const traceId = summary.trace.trace_id;
    expect(vars.TRACEPARENT).toBe(`00-${traceId}-${summary.trace.span_id}-01`);
    await receiver.waitFor((r) => r.spans().filter((s) => s.spanContext().traceId === traceId).length >= 5, 20_000);
    const spans = receiver.spans().filter((s) => s.spanContext().traceId === traceId);
    const runSpans = spans.filter((s) => s.name === "RUN wordstats");
    expect(runSpans).toHaveLength(1);
    expect(runSpans[0]!.spanContext().spanId).toBe(summary.trace.span_id);
    expect(runSpans[0]!.attributes).toMatchObject({ "cicd.pipeline.result": "success", "cicd.pipeline.run.id": summary.run_id });
    const stageSpans = spans.filter((s) => s.name.startsWith("stage "));
    expect(stageSpans.map((s) => s.name).sort()).toEqual(STAGES.map((s) => `stage ${s}`).sort());
    for (const s of stageSpans) expect(s.parentSpanContext?.spanId).toBe(summary.trace.span_id);

    // One pipeline log of whole JSON lines (each parses), from begin, end and all four stages, the parallel ones included.
    const lines = readLogLines(pipelineLogOf(run));
    expect(new Set(lines.map((l) => l.stage))).toEqual(new Set([undefined, ...STAGES]));
    const parallel = lines.filter((l) => /(count_words|checksum) line \d$/.test(l.msg));
    expect(parallel).toHaveLength(10);
    for (const l of lines) expect(l.trace_id).toBe(traceId);

    // One report; its lineage is the DAG: prepare -> {count_words, checksum} -> merge.
    const report = await runCli(["report", run]);
    expect(report.code, report.stderr).toBe(0);
    expect(existsSync(join(run, "report.html"))).toBe(true);
    const data = buildReportData(loadRun(run));
    const names = data.stages.map((s) => s.name);
    const edge = (file: string) => {
      const f = data.files.find((x) => x.p.endsWith(file))!;
      return [names[f.by], f.to.map((i) => names[i]).sort()];
    };
    expect(edge("01_prepare/text.txt")).toEqual(["prepare", ["checksum", "count_words"]]);
    expect(edge("02_count_words/counts.json")).toEqual(["count_words", ["merge"]]);
    expect(edge("03_checksum/sum.txt")).toEqual(["checksum", ["merge"]]);
    expect(data.traceCount).toBe(1);
    // Its timeline draws the parallel stages' bars overlapping.
    const bar = (name: string) => data.stages.find((s) => s.name === name)!;
    expect(bar("count_words").start!).toBeLessThan(bar("checksum").end!);
    expect(bar("checksum").start!).toBeLessThan(bar("count_words").end!);
  }, 300_000);
});
