// The same stage written in Python (the package, under the real CLI) and in
// TypeScript: manifest, span and logs must not tell them apart, beyond what
// differs between two runs of one stage (times, ids, paths, the process).
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/cli.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { readJson, readLogLines, tempDir } from "../support/tmp.js";

const TWIN = fileURLToPath(new URL("../fixtures/twin/", import.meta.url));
const PYTHON_PACKAGE = fileURLToPath(new URL("../../python", import.meta.url));

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(() => receiver.close());

function runProcess(argv: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

/** Runs the twin stage in `language` in a fresh run directory; returns what it left and the span the backend got. */
async function runTwin(language: "python" | "typescript") {
  const run = tempDir(`stagetrace-twin-${language}-`);
  mkdirSync(join(run, "01_demux"));
  writeFileSync(join(run, "01_demux", "audio.wav"), "RIFF....WAVEfmt ");
  const env = { OUTPUT_DIR: run, STAGETRACE_STAGES: "demux,asr", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, STAGETRACE_CLI: CLI, PYTHONPATH: PYTHON_PACKAGE };
  const argv = language === "python" ? ["python3", join(TWIN, "asr.py")] : [process.execPath, join(TWIN, "asr.mjs")];
  const result = await runProcess(argv, env);
  expect(result.code, result.stderr).toBe(0);
  const stageDir = join(run, "02_asr");
  const manifest = readJson(join(stageDir, "manifest.json"));
  await receiver.waitFor((r) => r.spans().some((s) => s.spanContext().spanId === manifest.trace.span_id), 20_000);
  const span = receiver.spans().find((s) => s.spanContext().spanId === manifest.trace.span_id)!;
  return { run, manifest, span, log: readLogLines(join(stageDir, "stage.log")) };
}

/** Replaces the run directory, and the start time in the pipeline log's name, in every string, recursively. */
function relative<T>(value: T, run: string): T {
  const text = JSON.stringify(value).split(run).join("<run>");
  return JSON.parse(text.replace(/99_pipeline_[\w.-]+\.log/g, "99_pipeline_<start>.log")) as T;
}

// What differs between any two runs of one stage, or between a process that is the stage and one exec runs.
const COMMAND_RESOURCES = ["cpu_user_ms", "cpu_system_ms", "peak_rss_mb", "wall_time_ms"];

function comparableManifest(m: any, run: string) {
  const { trace, started_at, ended_at, duration_ms, process: _p, pipeline, telemetry, logs, resources, ...rest } = relative(m, run);
  const files = (list: any[]) => list.map(({ modified, ...f }: any) => f);
  return {
    ...rest,
    pipeline: { name: pipeline.name },
    logs: Object.keys(logs),
    resources: Object.fromEntries(Object.entries(resources).filter(([k]) => !COMMAND_RESOURCES.includes(k))),
    inputs: files(rest.inputs),
    outputs: files(rest.outputs),
    intermediate_files: files(rest.intermediate_files),
    warnings: rest.warnings.map((w: any) => w.message),
    errors: rest.errors.map(({ timestamp, stack, ...e }: any) => ({ ...e, has_stack: typeof stack === "string" && stack.includes("segment 2 has no words") })),
  };
}

const VOLATILE_ATTRIBUTES = /^(process\.|host\.|cicd\.pipeline\.(run\.id|task\.run\.id)$|stagetrace\.resource\.(cpu_|peak_rss|wall_time)|file\.modified$)/;

function comparableSpan(span: ReadableSpan, run: string) {
  const attributes = (a: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(relative(a, run)).filter(([k]) => !VOLATILE_ATTRIBUTES.test(k)).sort(([a], [b]) => a.localeCompare(b)));
  return {
    name: span.name,
    kind: span.kind,
    status: span.status,
    attributes: attributes(span.attributes),
    events: span.events.map((e) => {
      const { "exception.stacktrace": stack, ...rest } = e.attributes ?? {};
      return { name: e.name, attributes: attributes(rest), hasStack: typeof stack === "string" };
    }),
  };
}

/** The lines the stage itself logged, in order: exec's own line about the command it runs is not one. */
function comparableLog(lines: any[]) {
  return lines.filter((l) => l.command === undefined).map((l) => [l.level, l.msg, l.stage, l.stage_number, typeof l.trace_id, typeof l.span_id]);
}

describe("a Python stage and the same stage in TypeScript", () => {
  it("leave the same manifest, span and stage log", async () => {
    const py = await runTwin("python");
    const ts = await runTwin("typescript");
    expect(comparableManifest(py.manifest, py.run)).toEqual(comparableManifest(ts.manifest, ts.run));
    // The parts that matter, stated once so a shared mistake cannot pass unseen.
    const m = py.manifest;
    expect(m.status).toBe("success");
    expect(m.outputs.map((o: any) => [o.name, o.metadata])).toEqual([
      ["0.json", { index: 0 }],
      ["1.json", { index: 1 }],
      ["2.json", { index: 2 }],
    ]);
    expect(m.intermediate_files.map((f: any) => [f.name, f.retained])).toEqual([
      ["model.bin", true],
      ["buffer.wav", false],
    ]);
    expect(m.config).toEqual({ model: "large-v2", batch_size: 16, api_key: "[REDACTED]", "vad.onset": 0.5 });
    expect(m.errors[0]).toMatchObject({ type: "ValueError", message: "alignment skipped: segment 2 has no words" });
    expect(m.resources).toMatchObject({ memory_mb: 12.5, gpu_used: false });

    expect(comparableSpan(py.span, py.run)).toEqual(comparableSpan(ts.span, ts.run));
    expect(py.span.attributes["error.type"]).toBeUndefined();

    // One difference by design: a Python stage ends when its process does, so a line it logs
    // after finalize() comes before exec's "finished" line; in TypeScript, after it.
    const finished = (l: unknown[]) => l[1] === "stage asr finished";
    const lines = comparableLog(py.log);
    expect(lines.filter((l) => !finished(l))).toEqual(comparableLog(ts.log).filter((l) => !finished(l)));
    expect(lines.filter(finished)).toEqual(comparableLog(ts.log).filter(finished));
    expect(lines.map((l) => l.slice(0, 2))).toEqual([
      ["INFO", "stage asr started"],
      ["INFO", "Starting ASR"],
      ["DEBUG", "wrote the segments"],
      ["WARN", "Low quality audio detected: 0.4"],
      ["INFO", "Stage complete"],
      ["INFO", "stage asr finished"],
    ]);
  });
});

describe("a Python stage that fails", () => {
  it("has its exception in the manifest, the span and stagetrace show", async () => {
    const run = tempDir("stagetrace-py-fail-");
    const script = fileURLToPath(new URL("../../python/tests/stages/crashing_stage.py", import.meta.url));
    const result = await runProcess(["python3", script], { OUTPUT_DIR: run, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, STAGETRACE_CLI: CLI, PYTHONPATH: PYTHON_PACKAGE });
    expect(result.code).toBe(1);
    const manifest = readJson(join(run, "crashing", "manifest.json"));
    expect(manifest).toMatchObject({ status: "failed", status_reason: "no model at /models/large-v2" });
    expect(manifest.errors).toEqual([expect.objectContaining({ type: "FileNotFoundError", message: "no model at /models/large-v2" })]);

    await receiver.waitFor((r) => r.spans().some((s) => s.spanContext().spanId === manifest.trace.span_id), 20_000);
    const span = receiver.spans().find((s) => s.spanContext().spanId === manifest.trace.span_id)!;
    expect(span.status).toMatchObject({ code: 2, message: "no model at /models/large-v2" });
    expect(span.attributes["error.type"]).toBe("FileNotFoundError");
    const exception = span.events.find((e) => e.name === "exception")!;
    expect(exception.attributes).toMatchObject({ "exception.type": "FileNotFoundError", "exception.message": "no model at /models/large-v2" });
    expect(String(exception.attributes!["exception.stacktrace"])).toMatch(/^Traceback \(most recent call last\):[\s\S]*in load_model[\s\S]*FileNotFoundError: no model at \/models\/large-v2$/);

    const show = await runProcess([process.execPath, CLI, "show", run], {});
    expect(show.code).toBe(1);
    const shown = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [CLI, "show", run], { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("close", () => resolve(out));
    });
    expect(shown).toContain("reason: no model at /models/large-v2");
    expect(shown).toContain("FileNotFoundError");
  });
});
