// A stage that runs in-process under the run's agent (exec with a local
// `--input`) writes its lines to the pipeline log after those of the stages
// that ended before it, also while the agent is behind: it waits for the
// agent's marks of those stages, at most a bound, and not for a gone agent.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { agentCaughtUp } from "../../src/agent/agent-catch-up.js";
import { spoolFileName, writtenMark } from "../../src/agent/agent-env.js";
import { CLI, runCli } from "../support/cli.js";
import { pipelineLogOf, readLogLines, tempDir } from "../support/tmp.js";

/** The pid of a process that has exited. */
function deadPid(): number {
  return Number(spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim());
}

// Not test/support's temporary directories: their pipeline.json files are checked against the schema afterwards.
const spoolRuns: string[] = [];
afterAll(() => {
  for (const dir of spoolRuns) rmSync(dir, { recursive: true, force: true });
});

/** A run directory with a spool holding one stage file of `pid` (its begin record on `host`), run by `agentPid`. */
function spoolWith(pid: number, agentPid: number, host = hostname()): { spool: string; file: string } {
  const run = mkdtempSync(join(tmpdir(), "stagetrace-spool-"));
  spoolRuns.push(run);
  const spool = join(run, ".stagetrace-agent");
  mkdirSync(spool);
  writeFileSync(join(run, "pipeline.json"), JSON.stringify({ pid: agentPid, host: hostname() }));
  const file = join(spool, spoolFileName(pid, "0a1b2c3d4e5f"));
  writeFileSync(file, JSON.stringify({ v: 1, record: "begin", stage: "a", pid, host, start: 0 }) + "\n");
  return { spool, file };
}

describe("agentCaughtUp", () => {
  it("waits for the mark of a stage whose process is gone while the agent runs", async () => {
    const { spool, file } = spoolWith(deadPid(), process.pid);
    let marked = false;
    setTimeout(() => {
      writeFileSync(writtenMark(file), "");
      marked = true;
    }, 200);
    await agentCaughtUp(spool, 60_000);
    expect(marked).toBe(true);
  });

  it("does not wait for a stage still running, one of another host, or a gone agent", async () => {
    const cases = [spoolWith(process.pid, process.pid), spoolWith(deadPid(), process.pid, "another-host"), spoolWith(deadPid(), deadPid())];
    for (const { spool } of cases) {
      let settled = false;
      // Settled before a timer of 0 ms fires: it resolved at once, without polling.
      const waiting = agentCaughtUp(spool, 60_000).then(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(settled).toBe(true);
      await waiting;
    }
  });

  it("stops waiting at its bound, the mark still missing", async () => {
    const { spool } = spoolWith(deadPid(), process.pid);
    await agentCaughtUp(spool, 100);
  });
});

describe("a stage in exec's own process after a stage of the agent", () => {
  it("comes after it in the pipeline log, also when the agent is stopped while the second stage starts", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "in.wav"), "audio\n");
    const exec = (stage: string, flags: string, body: string) =>
      `"${process.execPath}" "${CLI}" exec --stage ${stage} ${flags} -- sh -c '${body}'`;
    writeFileSync(
      join(dir, "p.sh"),
      [
        exec("thin", "", "echo from the agent stage"),
        // The agent (this script's parent, stagetrace run) is stopped: it writes nothing of the first stage meanwhile.
        "kill -STOP $PPID",
        `${exec("local", `--input "${join(dir, "in.wav")}":audio`, "echo from the local stage")} &`,
        "sleep 1",
        "kill -CONT $PPID",
        "wait $!",
      ].join("\n") + "\n",
    );
    const run = join(dir, "run");
    const r = await runCli(["run", "--run-dir", run, "--stages", "thin,local", "--", "sh", join(dir, "p.sh")], {
      cwd: dir,
      env: { STAGETRACE_RUN_AGENT: "1" },
    });
    expect(r.code, r.stderr).toBe(0);
    const stages = readLogLines(pipelineLogOf(run))
      .filter((l) => typeof l.stage === "string")
      .map((l) => `${l.stage}: ${l.msg}`);
    expect(stages).toEqual([
      "thin: stage thin started",
      expect.stringMatching(/^thin: running sh -c /),
      "thin: from the agent stage",
      "thin: stage thin finished",
      "local: stage local started",
      expect.stringMatching(/^local: running sh -c /),
      "local: from the local stage",
      "local: stage local finished",
    ]);
  });
});
