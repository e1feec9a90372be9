import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assertValidManifest } from "../support/schema.js";
import { FIXTURE, spawnStage } from "../support/spawn-stage.js";
import { readJson, readLogLines, tempDir } from "../support/tmp.js";

// Eight processes on one pipeline log and the secrets test are in test/faults/.
describe("stages as separate processes sharing a run directory", () => {
  it("the seed's StageIO style works as a process, and writes nothing to the console", async () => {
    const run = tempDir();
    const ok = await spawnStage({ OUTPUT_DIR: run, FIXTURE_STYLE: "stageio", FIXTURE_STAGE: "seed", FIXTURE_LINES: "4" });
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe("");
    expect(ok.stdout.replace(/FIXTURE_DONE \d+\n/, "")).toBe("");
    const failed = await spawnStage({ OUTPUT_DIR: run, FIXTURE_STYLE: "stageio", FIXTURE_STAGE: "seed2", FIXTURE_FAIL: "no input" });
    expect(failed.code).toBe(1);
    const m = readJson(join(run, "seed2", "manifest.json"));
    assertValidManifest(m);
    expect(m.status).toBe("failed");
    expect(m.errors[0]).toMatchObject({ type: "TypeError", message: "no input" });
  });

  it("prints INFO+ to stderr once when STAGETRACE_CONSOLE is set", async () => {
    const run = tempDir();
    const r = await spawnStage({ OUTPUT_DIR: run, FIXTURE_LINES: "4", STAGETRACE_CONSOLE: "info" });
    const lines = r.stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.msg)).toEqual(["stage fixture started", "info line 1", "info line 3", "stage fixture finished"]);
  });
});

describe("the console default", () => {
  // `script` gives the stage a terminal; stdout goes to /dev/null, so what it captures is stderr.
  const onTerminal = (env: Record<string, string>) => {
    const vars = Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    return execFileSync("script", ["-qec", `env ${vars} "${process.execPath}" "${FIXTURE}" >/dev/null`, "/dev/null"], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
      encoding: "utf8",
    });
  };

  it("prints INFO+ once on stderr when it is a terminal", () => {
    const out = onTerminal({ OUTPUT_DIR: tempDir(), FIXTURE_LINES: "4" });
    const lines = out
      .trim()
      .split(/\r?\n/)
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.msg)).toEqual(["stage fixture started", "info line 1", "info line 3", "stage fixture finished"]);
  });

  it("is quiet on a terminal with STAGETRACE_CONSOLE=off, and when stderr is not a terminal", async () => {
    expect(onTerminal({ OUTPUT_DIR: tempDir(), FIXTURE_LINES: "4", STAGETRACE_CONSOLE: "off" })).toBe("");
    const piped = await spawnStage({ OUTPUT_DIR: tempDir(), FIXTURE_LINES: "4" });
    expect(piped.stderr).toBe("");
  });
});

describe("a stage that never calls finalize()", () => {
  it.each([
    ["ends naturally", "no-finalize"],
    ["calls process.exit()", "exit-without-finalize"],
  ])("is recorded as failed with the reason when the process %s, and the process exits 1", async (_how, style) => {
    const run = tempDir();
    const r = await spawnStage({ OUTPUT_DIR: run, FIXTURE_STYLE: style, FIXTURE_STAGE: "forgot", FIXTURE_LINES: "3" });
    expect(r.code).toBe(1);
    const m = readJson(join(run, "forgot", "manifest.json"));
    assertValidManifest(m);
    expect(m).toMatchObject({ status: "failed", status_reason: "finalize() was not called" });
    expect(m.outputs).toHaveLength(1);
    expect(m.errors[0].message).toContain("without calling finalize()");
    const last = readLogLines(join(run, "forgot", "stage.log")).at(-1);
    expect(last).toMatchObject({ level: "ERROR", msg: "stage forgot failed: finalize() was not called" });
  });

  it("keeps a non-zero exit code the process chose itself", async () => {
    const run = tempDir();
    const r = await spawnStage({ OUTPUT_DIR: run, FIXTURE_STYLE: "no-finalize", FIXTURE_STAGE: "forgot", FIXTURE_EXIT_CODE: "3" });
    expect(r.code).toBe(3);
    expect(readJson(join(run, "forgot", "manifest.json")).status).toBe("failed");
  });
});

describe("a stage that calls process.exit(N) without finalize()", () => {
  it("records N as the process's exit code, and exits N", async () => {
    const run = tempDir();
    const r = await spawnStage({ OUTPUT_DIR: run, FIXTURE_STYLE: "exit-without-finalize", FIXTURE_STAGE: "quit", FIXTURE_EXIT_CODE: "5" });
    expect(r.code).toBe(5);
    const m = readJson(join(run, "quit", "manifest.json"));
    expect(m).toMatchObject({ status: "failed", status_reason: "finalize() was not called" });
    expect(m.process.exit_code).toBe(5);
  });
});
