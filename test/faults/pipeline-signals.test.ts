// Signals that stop a pipeline: sent to `stagetrace run` alone (as
// Kubernetes, systemd or a CI runner do) or to `stagetrace exec`, they reach
// every stage, escalate to SIGKILL after the grace period, and leave records
// that agree with each other.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI } from "../support/cli.js";
import { readJson, tempDir } from "../support/tmp.js";
import { start } from "./harness.js";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("SIGTERM or SIGINT to stagetrace run alone", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s stops the running stage and the pipeline; run dies by it; pipeline.json agrees",
    async (signal) => {
      const dir = tempDir();
      const run = join(dir, "run");
      const script = join(dir, "pipeline.sh");
      // No `set -e`: the shell would go on to the next stage if the stop did not reach it.
      writeFileSync(
        script,
        [
          `stagetrace exec --stage first -- sh -c 'echo "READY $$"; exec sleep 1000'`,
          `stagetrace exec --stage second -- sh -c 'echo SECOND'`,
          "",
        ].join("\n"),
      );
      const p = start({ STAGETRACE_KILL_GRACE_MS: "5000" }, CLI, [
        "run",
        "--name",
        "sig",
        "--run-dir",
        run,
        "--stages",
        "first,second",
        "--",
        "bash",
        script,
      ]);
      const sleeper = Number((await p.line(/^READY \d+$/)).split(" ")[1]);
      p.child.kill(signal);
      const end = await p.done;
      expect({ code: end.code, signal: end.signal }, end.stderr).toEqual({ code: null, signal });
      expect(end.stdout).not.toContain("SECOND");
      expect(alive(sleeper)).toBe(false);
      const first = readJson(join(run, "01_first", "manifest.json"));
      expect(first.status).toBe("interrupted");
      const summary = readJson(join(run, "pipeline.json"));
      expect(summary.status).toBe("interrupted");
      expect(summary.stages.find((s: { name: string }) => s.name === "first").status).toBe("interrupted");
      expect(summary.stages.find((s: { name: string }) => s.name === "second").status).toBe("not_run");
    },
  );
});

/** `stagetrace exec` around a shell that ignores `signals` and says READY with its pid. */
function stubborn(dir: string, graceMs: string, signals: string) {
  const script = `trap '' ${signals}; echo "READY $$"; while :; do sleep 0.05; done`;
  return start({ OUTPUT_DIR: dir, STAGETRACE_KILL_GRACE_MS: graceMs }, CLI, ["exec", "--stage", "stubborn", "--", "sh", "-c", script]);
}

describe("stagetrace exec escalates", () => {
  it("a command that ignores SIGTERM gets SIGKILL after the grace period; the stage is interrupted, exec dies by SIGTERM", async () => {
    const dir = tempDir();
    const p = stubborn(dir, "300", "TERM");
    const shell = Number((await p.line(/^READY \d+$/)).split(" ")[1]);
    p.child.kill("SIGTERM");
    const end = await p.done;
    expect({ code: end.code, signal: end.signal }, end.stderr).toEqual({ code: null, signal: "SIGTERM" });
    expect(alive(shell)).toBe(false);
    const m = readJson(join(dir, "stubborn", "manifest.json"));
    expect(m.status).toBe("interrupted");
  });

  it("a second signal sends SIGKILL at once, whatever the grace period", async () => {
    const dir = tempDir();
    const p = stubborn(dir, "600000", "TERM INT");
    await p.line(/^READY \d+$/);
    p.child.kill("SIGTERM");
    p.child.kill("SIGINT");
    // Without the escalation this would wait out the ten-minute grace period (and the test's timeout).
    const end = await p.done;
    expect(["SIGTERM", "SIGINT"]).toContain(end.signal);
    expect(readJson(join(dir, "stubborn", "manifest.json")).status).toBe("interrupted");
  });
});
