import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, runCliInProcess } from "../support/cli.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { fileURLToPath } from "node:url";
import { FIXTURE } from "../support/spawn-stage.js";

const KILLED = fileURLToPath(new URL("../fixtures/killed-stage.mjs", import.meta.url));
import { validateAgainstSchema } from "../../src/schema/validate.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "../support/tmp.js";

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(() => receiver.close());

/** Writes a pipeline script: two `stagetrace exec` stages around one TypeScript-style stage process. */
function pipelineScript(dir: string, extra = ""): string {
  const script = join(dir, "pipeline.sh");
  writeFileSync(
    script,
    [
      "set -eu",
      `stagetrace exec --stage fetch --output data.txt:text -- sh -c 'echo 1 2 3 > "$STAGE_DIR/data.txt"'`,
      `FIXTURE_STAGE=crunch FIXTURE_LINES=4 node "${FIXTURE}" > /dev/null`,
      `stagetrace exec --stage publish --input "$OUTPUT_DIR/01_fetch/data.txt:text" -- sh -c 'echo published'`,
      extra,
    ].join("\n"),
  );
  return script;
}

describe("stagetrace run", () => {
  it("makes the whole multi-process pipeline one trace under the run span, and writes pipeline.json", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const result = await runCli(
      ["run", "--name", "tiny", "--run-dir", run, "--stages", "fetch,crunch,publish,never", "--", "bash", pipelineScript(dir)],
      {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("published");

    const summary = readJson(join(run, "pipeline.json"));
    expect(validateAgainstSchema("pipeline", summary)).toEqual([]);
    // A declared stage that never ran: the pipeline did not do its whole job, though its command exited 0.
    expect(summary).toMatchObject({
      pipeline: "tiny",
      status: "failed",
      exit_code: 0,
      signal: null,
      command: ["bash", join(dir, "pipeline.sh")],
    });
    expect(result.stderr).toContain("stage 04 never: not_run");
    expect(summary.stages.map((s: any) => [s.number, s.name, s.status, s.manifest])).toEqual([
      [1, "fetch", "success", "01_fetch/manifest.json"],
      [2, "crunch", "success", "02_crunch/manifest.json"],
      [3, "publish", "success", "03_publish/manifest.json"],
      [4, "never", "not_run", null],
    ]);

    const runSpanId = summary.trace.span_id;
    const traceId = summary.trace.trace_id;
    await receiver.waitFor((r) => r.spans().filter((s) => s.spanContext().traceId === traceId).length >= 4);
    const spans = receiver.spans().filter((s) => s.spanContext().traceId === traceId);
    const runSpan = spans.find((s) => s.spanContext().spanId === runSpanId)!;
    expect(runSpan.name).toBe("RUN tiny");
    expect(runSpan.attributes).toMatchObject({
      "cicd.pipeline.name": "tiny",
      "cicd.pipeline.result": "failure",
      "cicd.pipeline.run.id": summary.run_id,
    });
    const stageSpans = spans.filter((s) => s.name.startsWith("stage "));
    expect(stageSpans.map((s) => s.name).sort()).toEqual(["stage crunch", "stage fetch", "stage publish"]);
    for (const s of stageSpans) {
      expect(s.parentSpanContext?.spanId).toBe(runSpanId);
      expect(s.attributes["cicd.pipeline.run.id"]).toBe(summary.run_id);
      expect(s.attributes["cicd.pipeline.name"]).toBe("tiny");
    }
    for (const stage of summary.stages.filter((s: any) => s.manifest)) {
      const m = readJson(join(run, stage.manifest));
      expect(m.trace.trace_id).toBe(traceId);
      expect(m.trace.parent_span_id).toBe(runSpanId);
      expect(m.pipeline.run_id).toBe(summary.run_id);
    }
    // One pipeline log for the run, with every stage's INFO lines.
    const stagesInLog = new Set(readLogLines(pipelineLogOf(run)).map((l) => l.stage));
    expect([...stagesInLog].sort()).toEqual(["crunch", "fetch", "publish", undefined]);
    const runLines = readLogLines(pipelineLogOf(run)).filter((l) => l.pipeline === "tiny" && l.stage === undefined);
    expect(runLines.map((l) => l.msg)).toEqual([
      `pipeline tiny started: bash ${join(dir, "pipeline.sh")}`,
      expect.stringMatching(/^pipeline tiny failed \(exit code 0\)/),
    ]);
    for (const l of runLines) expect(l.trace_id).toBe(traceId);
  });

  it("exits with the command's code and records a failed run", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const script = join(dir, "fails.sh");
    writeFileSync(script, `stagetrace exec --stage broken -- sh -c 'exit 4'\nexit $?\n`);
    const result = await runCli(["run", "--run-dir", run, "--", "bash", script], { env: {} });
    expect(result.code).toBe(4);
    const summary = readJson(join(run, "pipeline.json"));
    expect(summary).toMatchObject({ pipeline: "fails", status: "failed", exit_code: 4 });
    expect(summary.stages).toEqual([expect.objectContaining({ name: "broken", status: "failed" })]);
  });

  it("marks a stage whose process was killed -9 as interrupted, and ends its span", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const script = join(dir, "killed.sh");
    writeFileSync(script, `FIXTURE_STAGE=victim node "${KILLED}" || true\n`);
    const result = await runCli(["run", "--run-dir", run, "--", "bash", script], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/stage victim .*marked interrupted/);
    const manifest = readJson(join(run, "victim", "manifest.json"));
    expect(manifest.status).toBe("interrupted");
    expect(manifest.status_reason).toMatch(/ended without finishing the stage/);
    expect(manifest.ended_at).not.toBeNull();
    const summary = readJson(join(run, "pipeline.json"));
    expect(summary.status).toBe("failed");
    expect(summary.stages[0]).toMatchObject({ name: "victim", status: "interrupted" });
    await receiver.waitFor((r) => r.spans().some((s) => s.spanContext().spanId === manifest.trace.span_id));
    const span = receiver.spans().find((s) => s.spanContext().spanId === manifest.trace.span_id)!;
    expect(span.attributes["stagetrace.stage.status"]).toBe("interrupted");
    // Killed by the system, not cancelled by a user: the conventions' `error`.
    expect(span.attributes["cicd.pipeline.task.run.result"]).toBe("error");
    expect(span.parentSpanContext?.spanId).toBe(summary.trace.span_id);
    // The failed run says why on its span; status stays unset only on success.
    await receiver.waitFor((r) => r.spans().some((s) => s.name === "RUN killed"));
    const runSpan = receiver.spans().find((s) => s.name === "RUN killed")!;
    expect(runSpan.attributes["error.type"]).toBe("stage_failed");
    expect(runSpan.status.code).toBe(2);
  });

  it("in an unsampled trace, a stage it ends from its manifest is not exported either", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const script = join(dir, "killed.sh");
    writeFileSync(script, `FIXTURE_STAGE=victim node "${KILLED}" || true\n`);
    const unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    const result = await runCli(["run", "--run-dir", run, "--", "bash", script], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, TRACEPARENT: unsampled },
    });
    expect(result.code, result.stderr).toBe(0);
    const manifest = readJson(join(run, "victim", "manifest.json"));
    expect(manifest).toMatchObject({ status: "interrupted", trace: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" } });
    expect(receiver.spans().filter((s) => s.spanContext().traceId === manifest.trace.trace_id)).toEqual([]);
  });

  it("forwards SIGTERM to the command and exits 143", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const script = join(dir, "long.mjs");
    writeFileSync(
      script,
      `process.on("SIGTERM", () => { console.log("stopping"); process.exit(143); });\nconsole.log("READY");\nsetInterval(() => {}, 1000);\n`,
    );
    let sent = false;
    const result = await runCli(["run", "--run-dir", run, "--", "node", script], {
      onStdout: (text, child) => {
        if (!sent && text.includes("READY")) {
          sent = true;
          child.kill("SIGTERM");
        }
      },
    });
    expect(result.code).toBe(143);
    expect(result.stdout).toContain("stopping");
    expect(readJson(join(run, "pipeline.json"))).toMatchObject({ status: "failed", exit_code: 143 });
  });

  const usageCases: [string, string[], RegExp][] = [
    ["no -- before the command", ["run", "bash", "x.sh"], /missing -- before the command/],
    ["an unknown option", ["run", "--verbose", "--", "true"], /unknown option --verbose/],
    ["a bad stage name", ["run", "--stages", "a,../b", "--", "true"], /--stages entry "..\/b"/],
  ];
  it.each(usageCases)("rejects %s", async (_n, args, message) => {
    const result = await runCliInProcess(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^Usage: stagetrace run \[--name NAME\]/m);
  });
});
