// Run-level faults: a stage killed with kill -9 under `stagetrace run`, two
// processes on one stage of one run, a run directory that cannot be made.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { assertValidManifest } from "../support/schema.js";
import { readJson, tempDir } from "../support/tmp.js";
import { fixture, start } from "./harness.js";

/**
 * `stagetrace run` over a stage that kills itself (SIGKILL), after which the
 * script goes on for a second; the stage's manifest, its stage.log's last
 * write and the run's end, once `run` has marked the stage interrupted.
 */
async function killedStageRun(agent: "0" | "1") {
  const runDir = join(tempDir(), "run");
  const script = `"${process.execPath}" "${fixture("killed-stage.mjs")}"; sleep 1`;
  const r = await runCli(["run", "--", "sh", "-c", script], { env: { OUTPUT_DIR: runDir, STAGETRACE_RUN_AGENT: agent } });
  expect(r.stderr).toContain("stage victim was left running by a process that is gone; marked interrupted");
  const stageLog = join(runDir, "victim", "stage.log");
  const m = readJson(join(runDir, "victim", "manifest.json"));
  assertValidManifest(m);
  expect(m.status).toBe("interrupted");
  expect(m.duration_ms).toBe(Date.parse(m.ended_at) - Date.parse(m.started_at));
  // The run itself ended after the script's second of sleep: later than the stage.
  const pipeline = readJson(join(runDir, "pipeline.json"));
  expect(Date.parse(pipeline.ended_at) - Date.parse(m.ended_at)).toBeGreaterThanOrEqual(1000);
  return { endedAt: Date.parse(m.ended_at), logWritten: Math.floor(statSync(stageLog).mtimeMs), log: readFileSync(stageLog, "utf8") };
}

describe("a stage killed with kill -9 under stagetrace run", () => {
  it("ends at its last sign of life (the newest write of its files), not when the script returned", async () => {
    // In-process: stage.log was last written by the stage; the manifest has since been rewritten by run.
    const { endedAt, logWritten } = await killedStageRun("0");
    expect(endedAt).toBeGreaterThanOrEqual(logWritten);
  });

  it("under the run's agent, ends at its last record, not when the agent wrote its files or the script returned", async () => {
    const { endedAt, logWritten, log } = await killedStageRun("1");
    // What the stage logged before it died is in stage.log, written by the agent after the stage's last record.
    expect(log).toContain('"msg":"working"');
    expect(logWritten).toBeGreaterThanOrEqual(endedAt);
  });
});

describe("two processes running the same stage of one run at once", () => {
  it("the second refuses in one line and writes nothing; the first one's record is kept", async () => {
    const runDir = tempDir();
    const env = { OUTPUT_DIR: runDir, STAGETRACE_STAGES: "ingest,faulty", FAULT_MODE: "wait" };
    const first = start(env);
    await first.line(/^READY$/);
    const path = join(runDir, "02_faulty", "manifest.json");
    const before = readJson(path);
    expect(before).toMatchObject({ status: "running", process: { pid: first.pid } });

    const second = await start({ ...env, FAULT_MODE: "ok" }).done;
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `stage faulty is already running in process ${first.pid} on this host (${path} says so); not starting it twice`,
    );
    expect(readJson(path)).toEqual(before);
    // exec refuses the same way, before its command runs.
    const marker = join(runDir, "ran");
    const exec = await runCli(["exec", "--stage", "faulty", "--number", "2", "--", "sh", "-c", `touch "${marker}"`], {
      env: { OUTPUT_DIR: runDir },
    });
    expect(exec.code).toBe(1);
    expect(exec.stderr).toContain(`is already running in process ${first.pid}`);
    expect(() => statSync(marker)).toThrow();

    first.child.kill("SIGTERM");
    const ended = await first.done;
    expect(ended.signal).toBe("SIGTERM");
    expect(readJson(path)).toMatchObject({ status: "interrupted", process: { pid: first.pid } });
    // Once the first is gone, the stage can run again.
    const again = await start({ ...env, FAULT_MODE: "ok" }).done;
    expect(again.code, again.stderr).toBe(0);
  });
});

describe("a run directory that cannot be created", () => {
  it("run says so in one line, exits 1 and runs nothing", async () => {
    const dir = tempDir();
    const blocker = join(dir, "file");
    writeFileSync(blocker, "a file where the run directory's parent should be\n");
    const marker = join(dir, "ran");
    const runDir = join(blocker, "run");
    const r = await runCli(["run", "--", "sh", "-c", `touch "${marker}"`], { env: { OUTPUT_DIR: runDir } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([
      `stagetrace run: cannot create the run directory ${runDir} (ENOTDIR: not a directory, mkdir '${runDir}'); nothing was run`,
    ]);
    expect(() => statSync(marker)).toThrow();
  });
});
