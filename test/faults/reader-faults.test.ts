// Reader and confinement faults: what a run directory, a manifest, a trace
// export or the environment says cannot make stagetrace block, read without
// bound, read a file outside the run, or write one outside it. Readers meet
// FIFOs as processes (a blocked open would hang the test process itself);
// what they print of a broken manifest is checked in-process, through main().
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRun } from "../../src/run/load-run.js";
import { runCli, runCliInProcess } from "../support/cli.js";
import { readJson, readLogLines, tempDir } from "../support/tmp.js";

/** A run with one good stage, made by exec. */
async function goodRun(): Promise<{ root: string; runDir: string }> {
  const root = tempDir();
  const runDir = join(root, "run");
  const r = await runCli(["exec", "--stage", "good", "--", "true"], { env: { OUTPUT_DIR: runDir } });
  expect(r.code, r.stderr).toBe(0);
  return { root, runDir };
}

function mkfifo(path: string): void {
  execFileSync("mkfifo", [path]);
}

/** stderr holds one line, naming `what`, and no stack trace. */
function oneLine(stderr: string, what: string): void {
  expect(stderr).toContain(what);
  expect(stderr).not.toMatch(/TypeError|\n\s+at /);
}

describe("readers never block on a FIFO or a device", () => {
  it("show, validate, report and diff refuse a manifest.json that is a FIFO, naming it, and go on with the rest", async () => {
    const { runDir } = await goodRun();
    mkdirSync(join(runDir, "fifo"));
    mkfifo(join(runDir, "fifo", "manifest.json"));
    const fifo = join(runDir, "fifo", "manifest.json");
    // Nobody ever opens the FIFO for writing: a reader that opened it blocking would hang the test.
    const show = await runCli(["show", runDir]);
    expect(show.code, show.stderr).toBe(1); // a stage without a readable manifest counts as failed
    expect(show.stdout).toContain(`${fifo}: is a FIFO; not read`);
    expect(show.stdout).toMatch(/good\s+success/);
    const validate = await runCli(["validate", runDir]);
    expect(validate.code).toBe(1);
    expect(validate.stdout).toMatch(/fifo\/manifest\.json: is a FIFO; not read/);
    expect(validate.stdout).toMatch(/good\/manifest\.json: valid manifest/);
    const report = await runCli(["report", runDir, "--out", join(runDir, "..", "report.html")]);
    expect(report.code, report.stderr).toBe(0);
    const diff = await runCli(["diff", runDir, runDir]);
    expect(diff.code, diff.stderr).toBe(0);
    execFileSync("rm", ["-r", join(runDir, "fifo")]);
  });

  it("a pipeline.json or a path given that is a FIFO or a device gives one line naming it", async () => {
    const { root, runDir } = await goodRun();
    mkfifo(join(runDir, "pipeline.json"));
    const show = await runCli(["show", runDir]);
    expect(show.code).toBe(1);
    oneLine(show.stderr, `${join(runDir, "pipeline.json")}: is a FIFO; not read`);
    const lone = join(root, "lone.fifo");
    mkfifo(lone);
    for (const args of [
      ["show", lone],
      ["validate", lone],
      ["replay", lone, "--out", join(root, "replayed")],
      ["show", "/dev/zero"],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(1);
      oneLine(r.stdout + r.stderr, args[1]!);
    }
    expect(existsSync(join(root, "replayed"))).toBe(false);
  });
});

describe("wrong types in a manifest or pipeline.json", () => {
  it("give one line naming the file and the field, never a TypeError", async () => {
    const { runDir } = await goodRun();
    const path = join(runDir, "good", "manifest.json");
    const m = readJson(path);
    for (const [field, broken, expected] of [
      ["process.pid", { ...m, process: { ...m.process, pid: "abc" } }, 'field process.pid must be a number or null, got "abc"'],
      ["outputs", { ...m, outputs: "none" }, 'field outputs must be an array, got "none"'],
      ["inputs[0].path", { ...m, inputs: [{ path: 7 }] }, "field inputs[0].path must be a string, got 7"],
      ["stage", { ...m, stage: ["x"] }, 'field stage must be a string, got ["x"]'],
    ] as const) {
      writeFileSync(path, JSON.stringify(broken));
      const stage = loadRun(runDir).stages[0]!;
      expect(stage.problem, field).toBe(`${path}: ${expected}`);
      const show = await runCliInProcess(["show", runDir]);
      expect(show.code, show.stderr).toBe(1); // the stage counts as failed
      expect(show.stdout).toContain(`${path}: ${expected}`);
      oneLine(show.stdout + show.stderr, path);
      const report = await runCliInProcess(["report", runDir, "--out", join(runDir, "..", "r.html")]);
      expect(report.code, report.stderr).toBe(0);
      oneLine(report.stderr, "");
    }
    writeFileSync(
      join(runDir, "pipeline.json"),
      JSON.stringify({ pipeline: "p", status: "success", stages: [{ name: 3, status: "success" }] }),
    );
    for (const cmd of ["show", "report", "diff"]) {
      const r = await runCliInProcess(cmd === "diff" ? [cmd, runDir, runDir] : [cmd, runDir]);
      expect(r.code, cmd).not.toBe(0);
      oneLine(r.stderr, `${join(runDir, "pipeline.json")}: field stages[0].name must be a string, got 3`);
    }
    // The suite validates every manifest a test leaves behind: put the good one back.
    writeFileSync(path, JSON.stringify(m));
    execFileSync("rm", [join(runDir, "pipeline.json")]);
  });
});

describe("readers read only files inside the run", () => {
  it("a manifest's log path or a symlink cannot bring another file into show or the report", async () => {
    const { root, runDir } = await goodRun();
    const secret = join(root, "private.txt");
    writeFileSync(secret, '{"msg":"PRIVATE-CONTENT-7f3e"}\n');
    const path = join(runDir, "good", "manifest.json");
    const m = readJson(path);
    writeFileSync(path, JSON.stringify({ ...m, logs: { ...m.logs, stage_log: secret } }));
    // The stage's own log is a symlink out of the run; a second stage's manifest is one.
    execFileSync("rm", [join(runDir, "good", "stage.log")]);
    symlinkSync(secret, join(runDir, "good", "stage.log"));
    mkdirSync(join(runDir, "linked"));
    symlinkSync(secret, join(runDir, "linked", "manifest.json"));
    const out = join(root, "report.html");
    const report = await runCli(["report", runDir, "--out", out]);
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).not.toContain("PRIVATE-CONTENT-7f3e");
    const show = await runCli(["show", runDir]);
    expect(show.stdout).not.toContain("PRIVATE-CONTENT-7f3e");
    expect(show.stdout).toContain(`${join(runDir, "linked", "manifest.json")}: leads to ${secret}, outside the run directory`);
    execFileSync("rm", ["-r", join(runDir, "linked")]);
  });
});

describe("nothing is written outside the run directory", () => {
  it("whatever a stage name, STAGETRACE_PIPELINE_LOG, .stagetrace-run.json or a symlink in the stage directory says", async () => {
    const root = tempDir();
    const runDir = join(root, "run");
    const env = { OUTPUT_DIR: runDir };
    // Stage names that would collide with the run's own files, or exceed the name limit.
    for (const name of ["logs", "pipeline.json", ".stagetrace-run.json", "stagetrace.json"]) {
      const r = await runCli(["exec", "--stage", name, "--", "true"], { env });
      expect(r.code, name).toBe(1);
      oneLine(
        r.stderr,
        `stage name ${JSON.stringify(name)}: its directory ${JSON.stringify(name)} is a name the run uses for its own files`,
      );
    }
    const long = "x".repeat(300);
    const tooLong = await runCli(["exec", "--stage", long, "--", "true"], { env });
    expect(tooLong.code).toBe(1);
    oneLine(tooLong.stderr, "is 300 bytes long, more than the 255 a file name may have");
    // A numbered stage named "logs" is 01_logs: no collision.
    expect((await runCli(["exec", "--stage", "logs", "--number", "1", "--", "true"], { env })).code).toBe(0);

    // A pipeline log outside the run, from the environment or from the run state file.
    const outsideLog = join(root, "outside.log");
    const byEnv = await runCli(["exec", "--stage", "a", "--", "true"], { env: { ...env, STAGETRACE_PIPELINE_LOG: "../outside.log" } });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    expect(byEnv.stderr).toContain(
      `the pipeline log ${outsideLog} (STAGETRACE_PIPELINE_LOG or .stagetrace-run.json) is outside the run directory`,
    );
    const state = readJson(join(runDir, ".stagetrace-run.json"));
    writeFileSync(join(runDir, ".stagetrace-run.json"), JSON.stringify({ ...state, pipeline_log: outsideLog }));
    const byState = await runCli(["exec", "--stage", "b", "--", "true"], { env });
    expect(byState.code, byState.stderr).toBe(0);
    expect(readLogLines(readJson(join(runDir, "b", "manifest.json")).logs.pipeline_log).length).toBeGreaterThan(0);

    // Symlinks in the stage directory: the log and the manifest never write through them.
    const target = join(root, "target.txt");
    writeFileSync(target, "untouched\n");
    mkdirSync(join(runDir, "c"));
    symlinkSync(target, join(runDir, "c", "stage.log"));
    symlinkSync(target, join(runDir, "c", ".stagetrace-records.jsonl"));
    const linked = await runCli(["exec", "--stage", "c", "--", "echo", "hello"], { env });
    expect(linked.code, linked.stderr).toBe(0);
    expect(linked.stderr).toContain(
      `${join(runDir, "c", "stage.log")} is a symlink to ${target}, outside the run directory; not written through`,
    );
    symlinkSync(target, join(runDir, "c", "manifest.json.link"));
    // A stage directory that is itself a symlink out of the run is refused.
    const elsewhere = join(root, "elsewhere");
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(runDir, "d"));
    const dirLink = await runCli(["exec", "--stage", "d", "--", "true"], { env });
    expect(dirLink.code).toBe(1);
    oneLine(dirLink.stderr, `stage directory ${join(runDir, "d")} is a symlink to ${elsewhere}, outside the run directory`);

    expect(readFileSync(target, "utf8")).toBe("untouched\n");
    expect(existsSync(outsideLog)).toBe(false);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(readdirSync(root).sort()).toEqual(["elsewhere", "run", "target.txt"]);
  });

  it("replay writes only inside --out, whatever stage directory a trace export names", async () => {
    const root = tempDir();
    const stageSpan = (stageDir: unknown, spanId: string) => ({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId,
      name: "stage x",
      kind: 1,
      startTimeUnixNano: "1700000000000000000",
      endTimeUnixNano: "1700000001000000000",
      attributes: [
        { key: "cicd.pipeline.task.name", value: { stringValue: "x" } },
        { key: "stagetrace.stage.dir", value: typeof stageDir === "string" ? { stringValue: stageDir } : { intValue: 5 } },
        { key: "stagetrace.stage.status", value: { stringValue: "success" } },
        { key: "stagetrace.run.dir", value: { stringValue: "/data/run" } },
      ],
      status: { code: 1 },
    });
    const trace = {
      resourceSpans: [
        {
          resource: { attributes: [] },
          scopeSpans: [
            {
              scope: { name: "stagetrace" },
              spans: [
                stageSpan("/data/run/..", "b7ad6b7169203331"),
                stageSpan("/data/run/.stagetrace-run.json", "b7ad6b7169203332"),
                stageSpan("/data/run/02_ok", "b7ad6b7169203333"),
              ],
            },
          ],
        },
      ],
    };
    const file = join(root, "trace.json");
    writeFileSync(file, JSON.stringify(trace));
    const out = join(root, "out");
    const r = await runCli(["replay", file, "--out", out]);
    expect(r.stderr).toContain('"/data/run/.." is not a directory name; not replayed');
    expect(r.stderr).toContain('"/data/run/.stagetrace-run.json" is a name the run uses for its own files; not replayed');
    expect(r.code).toBe(1);
    expect(readdirSync(root).sort()).toEqual(["out", "trace.json"]);
    expect(readdirSync(out)).toEqual(["02_ok"]);
  });
});
