// Process faults: kill -9, SIGINT/SIGTERM, uncaught exceptions and unhandled
// rejections, each in a real stage process.
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stageState } from "../../src/run/load-run.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { assertValidManifest, validateManifest } from "../support/schema.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "../support/tmp.js";
import { run, start } from "./harness.js";

const STAGES = { STAGETRACE_STAGES: "ingest,faulty" }; // the fixture's stage is number 2: 02_faulty
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
// The exit bound (exitTimeoutMs, 3 s by default), plus process teardown on a loaded machine.
// How fast a stage exits after a signal is measured by `npm run bench`; a
// loaded machine would miss any tight figure here. A process that waited
// for its backend instead would run into the test's own timeout.
// Where a test checks that every log record and span was delivered, it
// gives the exit a generous bound: delivery is the property, its speed is
// the benchmark's (on a machine loaded ten times over, 3 s can pass before
// the log worker has started).
const DELIVERY_BOUND = { STAGETRACE_EXIT_TIMEOUT_MS: "30000" };

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

describe("the running manifest", () => {
  it("is on disk from the moment the stage starts, with pid, host, start and trace ids, and stays after kill -9", async () => {
    const runDir = tempDir();
    const p = start({ OUTPUT_DIR: runDir, ...STAGES, FAULT_MODE: "wait" });
    await p.line(/^READY$/);
    const path = join(runDir, "02_faulty", "manifest.json");
    const running = readJson(path);
    assertValidManifest(running);
    expect(running).toMatchObject({
      stage: "faulty",
      stage_number: 2,
      status: "running",
      status_reason: null,
      ended_at: null,
      duration_ms: null,
      process: { pid: p.pid, hostname: hostname(), exit_code: null },
      telemetry: { endpoint: null, state: "local" },
    });
    expect(running.started_at).toMatch(TIME);
    expect(running.trace.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(running.trace.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(running.trace.parent_span_id).toBeNull();
    expect(stageState(running)).toBe("running"); // its process is alive
    // The schema tells running from final: running has no end, every other status has one.
    const end = { ended_at: "2030-01-01T00:00:00Z", duration_ms: 1 };
    expect(validateManifest({ ...running, ...end })).not.toEqual([]);
    expect(validateManifest({ ...running, status: "success" })).not.toEqual([]);
    expect(validateManifest({ ...running, status: "success", ...end })).toEqual([]);

    p.child.kill("SIGKILL");
    const killed = await p.done;
    expect(killed.signal).toBe("SIGKILL");
    const after = readJson(path);
    expect(after).toEqual(running);
    expect(stageState(after)).toBe("abandoned");
    for (const line of readLogLines(join(runDir, "02_faulty", "stage.log"))) {
      expect(line).toMatchObject({ trace_id: running.trace.trace_id, span_id: running.trace.span_id });
    }
  });

  it("kill -9 at random moments leaves a manifest that parses and says running, or the final one", async () => {
    const seen = new Set<string>();
    const delays: number[] = [];
    // Two processes at a time; each is killed 0–600 ms after it was spawned.
    for (let round = 0; round < 6; round++) {
      await Promise.all(
        [0, 1].map(async () => {
          const runDir = tempDir();
          const delay = Math.floor(Math.random() * 600);
          delays.push(delay);
          const p = start({ OUTPUT_DIR: runDir, ...STAGES, FAULT_MODE: "work" });
          await new Promise((r) => setTimeout(r, delay));
          p.child.kill("SIGKILL");
          const end = await p.done;
          const path = join(runDir, "02_faulty", "manifest.json");
          const context = `killed ${delay} ms after spawn; stdout:\n${end.stdout}`;
          // Once the stage said it started, its manifest exists.
          if (end.stdout.includes("STARTED")) expect(existsSync(path), context).toBe(true);
          if (!existsSync(path)) return void seen.add("none yet");
          const m = readJson(path); // parses: never half a file
          assertValidManifest(m);
          expect(["running", "success"], context).toContain(m.status);
          if (m.status === "running") {
            expect(m.process.pid).toBe(p.pid);
            expect(stageState(m)).toBe("abandoned");
          } else {
            // Final: written when the span ended (the kill may still have come before DONE was printed).
            expect(m.ended_at, context).not.toBeNull();
          }
          seen.add(m.status);
        }),
      );
    }
    expect(seen.size, `delays ${delays.join(", ")}`).toBeGreaterThan(0);
  });
});

describe("SIGINT and SIGTERM in a TypeScript stage", () => {
  it.each([
    ["SIGINT", 130, "runStage"],
    ["SIGTERM", 143, "runStage"],
    ["SIGINT", 130, "stageio"],
    ["SIGTERM", 143, "stageio"],
  ] as const)(
    "%s (%s, %s): interrupted with the signal, logs whole, manifest final, span exported, then dies by that signal",
    async (signal, code, style) => {
      receiver = await startOtlpReceiver();
      const runDir = tempDir();
      const p = start({
        OUTPUT_DIR: runDir,
        ...STAGES,
        FAULT_MODE: "wait",
        FAULT_STYLE: style,
        FAULT_LINES: "300",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        ...DELIVERY_BOUND,
      });
      await p.line(/^READY$/);
      p.child.kill(signal);
      const end = await p.done;
      // Dies by the signal itself, so a calling shell stops as it would without stagetrace.
      expect({ code: end.code, signal: end.signal }, end.stderr).toEqual({ code: null, signal });
      expect(end.stderr).not.toMatch(/not delivered|finalize/);

      const m = readJson(join(runDir, "02_faulty", "manifest.json"));
      assertValidManifest(m);
      expect(m).toMatchObject({
        status: "interrupted",
        status_reason: signal,
        process: { exit_code: code },
        telemetry: { state: "final", exported: 1, dropped: 0 },
      });
      expect(m.ended_at).toMatch(TIME);
      expect(m.outputs.map((o: { name: string }) => o.name)).toEqual(["result.txt"]);

      const stageLog = readLogLines(join(runDir, "02_faulty", "stage.log"));
      expect(stageLog.filter((l) => /^line \d+$/.test(l.msg))).toHaveLength(300);
      expect(stageLog.at(-1)).toMatchObject({ level: "WARN", msg: `stage faulty interrupted: ${signal}` });
      const pipeline = readLogLines(pipelineLogOf(runDir));
      expect(pipeline.filter((l) => /^line \d+$/.test(l.msg))).toHaveLength(300);
      expect(pipeline.at(-1)).toMatchObject({ msg: `stage faulty interrupted: ${signal}` });

      const span = receiver.spans().find((s) => s.name === "stage faulty");
      expect(span?.attributes).toMatchObject({
        "stagetrace.stage.status": "interrupted",
        "stagetrace.stage.status_reason": signal,
        "cicd.pipeline.task.run.result": "cancellation",
        "process.exit.code": code,
      });
      expect(span?.spanContext().spanId).toBe(m.trace.span_id);
    },
  );

  it("while finalize() waits for a hash: the stage's own status stands, the file is recorded without its hash, death by SIGTERM", async () => {
    const runDir = tempDir();
    // One thread-pool thread, busy for seconds: the large file's hash cannot finish before the signal.
    const p = start({ OUTPUT_DIR: runDir, ...STAGES, FAULT_MODE: "hashing", UV_THREADPOOL_SIZE: "1" });
    await p.line(/^READY$/);
    p.child.kill("SIGTERM");
    const end = await p.done;
    expect({ code: end.code, signal: end.signal }, end.stderr).toEqual({ code: null, signal: "SIGTERM" });
    const m = readJson(join(runDir, "02_faulty", "manifest.json"));
    assertValidManifest(m);
    expect(m).toMatchObject({ status: "success", process: { exit_code: 143 } });
    expect(m.outputs.find((o: { name: string }) => o.name === "big.bin")).toMatchObject({ exists: true, hash: null });
    expect(m.warnings.map((w: { message: string }) => w.message)).toContainEqual(
      expect.stringMatching(/big\.bin was still being hashed when SIGTERM arrived$/),
    );
  });

  it("with the backend hanging, still exits (the export is cut), the loss counted", async () => {
    receiver = await startOtlpReceiver({ behaviour: "hang" });
    const runDir = tempDir();
    const p = start({ OUTPUT_DIR: runDir, ...STAGES, FAULT_MODE: "wait", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    await p.line(/^READY$/);
    p.child.kill("SIGTERM");
    const end = await p.done;
    expect(end.signal).toBe("SIGTERM");
    const m = readJson(join(runDir, "02_faulty", "manifest.json"));
    expect(m).toMatchObject({ status: "interrupted", telemetry: { state: "final", exported: 0, dropped: 1 } });
    expect(end.stderr.match(/spans were not delivered/g) ?? []).toHaveLength(1);
  });

  it("leaves exiting to the app's own listener, after the stage is final", async () => {
    const runDir = tempDir();
    const p = start({ OUTPUT_DIR: runDir, ...STAGES, FAULT_MODE: "wait", FAULT_USER_LISTENER: "7" });
    await p.line(/^READY$/);
    p.child.kill("SIGTERM");
    const end = await p.done;
    expect(end.stdout).toContain("USER_HANDLER SIGTERM");
    expect(end.code).toBe(7); // the app's choice, not 143
    const m = readJson(join(runDir, "02_faulty", "manifest.json"));
    expect(m).toMatchObject({ status: "interrupted", status_reason: "SIGTERM", process: { exit_code: null } });
  });

  it("can be turned off (STAGETRACE_HANDLE_SIGNALS=0): the signal kills the process and the manifest says running", async () => {
    const runDir = tempDir();
    const p = start({ OUTPUT_DIR: runDir, ...STAGES, FAULT_MODE: "wait", STAGETRACE_HANDLE_SIGNALS: "0" });
    await p.line(/^READY$/);
    p.child.kill("SIGTERM");
    const end = await p.done;
    expect(end.signal).toBe("SIGTERM");
    expect(readJson(join(runDir, "02_faulty", "manifest.json")).status).toBe("running");
  });

  it("listens for signals and crashes only while a stage is open", async () => {
    const r = await run({ OUTPUT_DIR: tempDir(), FAULT_MODE: "ok", FAULT_LISTENERS: "1" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("LISTENERS open 1 1 1\n");
    expect(r.stdout).toContain("LISTENERS closed 0 0 0\n");
  });
});

describe("an uncaught exception or unhandled rejection", () => {
  it.each([
    ["throw", "runStage", "RangeError", "the timer exploded", "uncaught exception"],
    ["throw", "stageio", "RangeError", "the timer exploded", "uncaught exception"],
    ["reject", "runStage", "SyntaxError", "nobody awaited this", "unhandled rejection"],
    ["reject", "stageio", "SyntaxError", "nobody awaited this", "unhandled rejection"],
  ] as const)(
    "%s (%s): failed with type, message and stack in manifest and span, exit code 1, no line lost",
    async (mode, style, type, message, what) => {
      receiver = await startOtlpReceiver();
      const runDir = tempDir();
      const end = await run({
        OUTPUT_DIR: runDir,
        ...STAGES,
        FAULT_MODE: mode,
        FAULT_STYLE: style,
        FAULT_LINES: "300",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        ...DELIVERY_BOUND,
      });
      expect(end.code).toBe(1); // what Node itself exits with
      expect(end.stderr).toContain(`${type}: ${message}`); // and it still prints the error
      expect(end.stdout).not.toContain("DONE");

      const m = readJson(join(runDir, "02_faulty", "manifest.json"));
      assertValidManifest(m);
      expect(m).toMatchObject({
        status: "failed",
        status_reason: `${what}: ${message}`,
        process: { exit_code: 1 },
        telemetry: { exported: 1, dropped: 0 },
      });
      expect(m.errors).toHaveLength(1);
      expect(m.errors[0]).toMatchObject({ type, message });
      expect(m.errors[0].stack).toContain(`${type}: ${message}`);
      expect(m.errors[0].stack).toContain("fault-stage.mjs");

      const stageLog = readLogLines(join(runDir, "02_faulty", "stage.log"));
      expect(stageLog.filter((l) => /^line \d+$/.test(l.msg))).toHaveLength(300);
      expect(stageLog.at(-1)).toMatchObject({ level: "ERROR", msg: `stage faulty failed: ${what}: ${message}` });
      const pipeline = readLogLines(pipelineLogOf(runDir));
      expect(pipeline.filter((l) => /^line \d+$/.test(l.msg))).toHaveLength(300);

      const span = receiver.spans().find((s) => s.name === "stage faulty")!;
      expect(span.attributes).toMatchObject({ "stagetrace.stage.status": "failed", "error.type": type });
      const exception = span.events.find((e) => e.name === "exception");
      expect(exception?.attributes).toMatchObject({ "exception.type": type, "exception.message": message });
      expect(String(exception?.attributes?.["exception.stacktrace"])).toContain("fault-stage.mjs");
    },
  );

  it("with the app's own uncaughtException listener: the stage is final and failed, and the app decides about exiting", async () => {
    const runDir = tempDir();
    const end = await run({ OUTPUT_DIR: runDir, ...STAGES, FAULT_MODE: "throw", FAULT_USER_CRASH_LISTENER: "9" });
    expect(end.stdout).toContain("USER_CAUGHT the timer exploded");
    expect(end.code).toBe(9);
    const m = readJson(join(runDir, "02_faulty", "manifest.json"));
    expect(m).toMatchObject({ status: "failed", status_reason: "uncaught exception: the timer exploded", process: { exit_code: null } });
    expect(m.errors[0]).toMatchObject({ type: "RangeError", message: "the timer exploded" });
  });
});
