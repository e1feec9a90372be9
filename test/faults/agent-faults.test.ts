// kill -9 of a stage handed to the run's agent, of the agent (the run
// process), and of both at once: what the stage recorded before the kill is
// in its manifest in the end, and nothing waits for a process that is gone.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, runCli } from "../support/cli.js";
import { readJson, tempDir } from "../support/tmp.js";
import { until } from "../support/until.js";
import { fixture, start } from "./harness.js";

const STAGE = fixture("agent-fault-stage.mjs");
const SPOOL = ".stagetrace-agent";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `stagetrace run` of one stage; its stdout carries the stage's RECORDED line. */
function pipeline(then: "die" | "wait") {
  const dir = tempDir();
  const run = join(dir, "run");
  writeFileSync(join(dir, "p.sh"), `FIXTURE_THEN=${then} node "${STAGE}"\n`);
  const p = start({ STAGETRACE_RUN_AGENT: "1" }, CLI, ["run", "--run-dir", run, "--", "sh", join(dir, "p.sh")]);
  return { run, p };
}

/** What the stage recorded, as its final manifest says. */
function expectRecorded(run: string) {
  const m = readJson(join(run, "victim", "manifest.json"));
  expect(m.status).toBe("interrupted");
  expect(m.outputs.map((o: { name: string }) => o.name)).toEqual(["partial.txt"]);
  expect(m.warnings.map((w: { message: string }) => w.message)).toContain("about to be killed");
  expect(m.config).toEqual({ attempt: 1 });
  return m;
}

describe("kill -9 under the run's agent", () => {
  it("of a stage: the agent ends it as interrupted with every record it wrote, and run returns", async () => {
    const { run, p } = pipeline("die");
    const done = await p.done;
    // The shell reports its killed command as 137, and run exits with the command's code.
    expect(done.code).toBe(137);
    const m = expectRecorded(run);
    expect(m.status_reason).toMatch(/ended without finishing the stage \(killed\?\); marked interrupted by stagetrace run/);
    expect(m.errors.map((e: { type: string }) => e.type)).toContain("StageAbandoned");
    expect(existsSync(join(run, SPOOL))).toBe(false);
    expect(readJson(join(run, "pipeline.json")).stages[0].status).toBe("interrupted");
  });

  it.each(["the agent", "the agent and the stage at once"])(
    "of %s: the records stay in the spool, and run end applies them",
    async (what) => {
      const { run, p } = pipeline("wait");
      const stagePid = Number((await p.line(/^RECORDED \d+/)).split(" ")[1]);
      // The records are in the stage's file the moment the stage wrote them, whatever the agent read.
      const spool = join(run, SPOOL);
      const file = await until("the stage's spool file", () => readdirSync(spool).find((f) => f.endsWith(".jsonl")));
      await until("the warning in the spool file", () => readFileSync(join(spool, file), "utf8").includes("about to be killed"));
      p.child.kill("SIGKILL");
      if (what !== "the agent") process.kill(stagePid, "SIGKILL");
      await p.done;
      // run's watchdog takes the pipeline's process group with it.
      await until("the stage process to be gone", () => !alive(stagePid));
      expect(readFileSync(join(spool, file), "utf8")).toContain('"record":"begin"');

      const r = await runCli(["run", "end", "--run-dir", run]);
      expect(r.code, r.stderr).toBe(1);
      expectRecorded(run);
      expect(existsSync(spool)).toBe(false);
      expect(readJson(join(run, "pipeline.json")).status).not.toBe("running");
    },
  );

  it("of a `stagetrace exec` under the agent: its command goes with it, and the agent ends the stage with what exec passed on", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const record = `{"v":1,"record":"config","values":{"attempt":1}}`;
    // The command reports a record, says who it and its exec are, and waits to be killed.
    const command = `echo '${record}' >> "$STAGETRACE_RECORDS"; echo "COMMAND $$ EXEC $PPID"; while :; do sleep 0.1; done`;
    writeFileSync(join(dir, "p.sh"), `"${process.execPath}" "${CLI}" exec --stage victim -- sh -c '${command.replace(/'/g, `'"'"'`)}'\n`);
    const p = start({ STAGETRACE_RUN_AGENT: "1" }, CLI, ["run", "--run-dir", run, "--", "sh", join(dir, "p.sh")]);
    const [, commandPid, , execPid] = (await p.line(/^COMMAND \d+ EXEC \d+/)).split(" ").map(Number) as [number, number, number, number];
    const spool = join(run, SPOOL);
    const file = await until("exec's spool file", () => readdirSync(spool).find((f) => f.startsWith(`${execPid}-`)));
    // Exec reads the records file every 50 ms and batches log lines for up to 100 ms: wait until both reached the spool.
    await until("the record and the output line in the spool", () => {
      const text = readFileSync(join(spool, file), "utf8");
      // The output line itself, with the pids: the command line in exec's `running` record holds "COMMAND " too.
      return text.includes('"attempt":1') && text.includes(`COMMAND ${commandPid} EXEC ${execPid}`);
    });
    process.kill(execPid, "SIGKILL");
    const done = await p.done;
    // exec died by SIGKILL: the shell reports 137, and run exits with its command's code.
    expect(done.code).toBe(137);
    // exec's watchdog takes the command with it.
    await until("the command to be gone", () => !alive(commandPid));
    const m = readJson(join(run, "victim", "manifest.json"));
    expect(m.status).toBe("interrupted");
    expect(m.process.pid).toBe(execPid);
    expect(m.process.command_args.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(m.config).toEqual({ attempt: 1 });
    expect(m.errors.map((e: { type: string }) => e.type)).toContain("StageAbandoned");
    expect(readFileSync(join(run, "victim", "stage.log"), "utf8")).toContain(`COMMAND ${commandPid} EXEC ${execPid}`);
    expect(existsSync(spool)).toBe(false);
  });
});
