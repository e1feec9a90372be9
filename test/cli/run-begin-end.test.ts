// A run whose stages are separate tasks: `run begin` and `run end` in
// processes of their own, stages as separate "hosts" (a UTS and pid
// namespace each, when this machine lets the test make them; else separate
// process trees) with nothing in common but the run directory and the
// variables run begin printed. Also: leases for stages on other hosts,
// re-runs into an existing run directory, and the summary on stderr.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEASE_FILE, localProcessTable, type Lease } from "../../src/run/lease.js";
import { loadRun, stageState } from "../../src/run/load-run.js";
import { colourFor } from "../../src/run/run-outcome.js";
import { validateAgainstSchema } from "../../src/schema/validate.js";
import { CLI, runCli, runCliInProcess } from "../support/cli.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { envLines } from "../support/run-env.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "../support/tmp.js";
import { until } from "../support/until.js";

const WORKFLOW = fileURLToPath(new URL("../fixtures/workflow", import.meta.url));
const PYTHON_DIR = fileURLToPath(new URL("../../python", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin", import.meta.url));

/** A separate host: a UTS namespace (own host name) and a pid namespace (own process table), when the test may make them. */
const NAMESPACES =
  process.getuid?.() === 0 &&
  spawnSync("unshare", ["--uts", "--pid", "--mount", "--fork", "--mount-proc", "--kill-child", "true"]).status === 0;

function onHost(host: string, argv: string[]): string[] {
  if (!NAMESPACES) return argv;
  return [
    "unshare",
    "--uts",
    "--pid",
    "--mount",
    "--fork",
    "--mount-proc",
    "--kill-child",
    "sh",
    "-c",
    'hostname "$0" && exec "$@"',
    host,
    ...argv,
  ];
}

interface Task {
  child: ChildProcess;
  done: Promise<{ code: number | null; output: string }>;
}

/** Starts a task in a process tree of its own (its own session), with only `env`. */
function task(host: string, argv: string[], env: Record<string, string>): Task {
  const full = onHost(host, argv);
  const child = spawn(full[0]!, full.slice(1), { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const done = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
  return { child, done };
}

function taskEnv(vars: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: [BIN, process.env.PATH ?? ""].join(delimiter),
    HOME: process.env.HOME ?? "",
    PYTHONPATH: PYTHON_DIR,
    PYTHONDONTWRITEBYTECODE: "1",
    STAGETRACE_CLI: CLI,
    ...vars,
    ...extra,
  };
}

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(() => receiver.close());

describe(`stages as separate tasks (${NAMESPACES ? "each in a UTS and pid namespace of its own" : "separate process trees"})`, () => {
  it("joins one trace and one run directory from the passed variables or from the run state alone; run end ends the run span under its ids", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const begin = await runCli(["run", "begin", "--run-dir", run, "--name", "hosts", "--stages", "prepare,count_words,checksum,never"], {
      env: otlp,
    });
    expect(begin.code, begin.stderr).toBe(0);
    expect(begin.stderr).toBe("");
    const vars = envLines(begin.stdout);
    const state = readJson(join(run, ".stagetrace-run.json"));
    expect(state).toMatchObject({
      run_id: vars.STAGETRACE_RUN_ID,
      pipeline: "hosts",
      stages: ["prepare", "count_words", "checksum", "never"],
      ended_at: null,
    });
    expect(readJson(join(run, "pipeline.json")).status).toBe("running");

    // prepare on host-a, with the variables.
    const prepare = task(
      "host-a",
      ["stagetrace", "exec", "--stage", "prepare", "--output", "text.txt:text", "--", "sh", join(WORKFLOW, "prepare.sh")],
      taskEnv(vars, otlp),
    );
    expect((await prepare.done).code).toBe(0);
    // count_words (Python) on host-b with the variables, checksum on host-c with nothing but the run directory: at the same time.
    const counting = task("host-b", ["python3", join(WORKFLOW, "count_words.py")], taskEnv(vars, otlp));
    const summing = task(
      "host-c",
      [
        "stagetrace",
        "exec",
        "--stage",
        "checksum",
        "--input",
        `${run}/01_prepare/text.txt:text`,
        "--output",
        "sum.txt:text",
        "--",
        "sh",
        join(WORKFLOW, "checksum.sh"),
      ],
      taskEnv({ OUTPUT_DIR: run }, otlp),
    );
    const [counted, summed] = await Promise.all([counting.done, summing.done]);
    expect(counted.code, counted.output).toBe(0);
    expect(summed.code, summed.output).toBe(0);

    const end = await runCli(["run", "end", "--run-dir", run], { env: { ...otlp, NO_COLOR: "1" } });
    expect(end.code).toBe(1); // "never" never ran
    const summary = readJson(join(run, "pipeline.json"));
    expect(validateAgainstSchema("pipeline", summary)).toEqual([]);
    expect(summary.status).toBe("failed");
    expect(summary.stages.map((s: any) => [s.number, s.name, s.status])).toEqual([
      [1, "prepare", "success"],
      [2, "count_words", "success"],
      [3, "checksum", "success"],
      [4, "never", "not_run"],
    ]);
    if (NAMESPACES) expect(summary.stages.slice(0, 3).map((s: any) => s.host)).toEqual(["host-a", "host-b", "host-c"]);
    // What the user sees: which stage and where to look, no colour (not a terminal, NO_COLOR).
    expect(end.stderr).toContain("pipeline hosts failed");
    expect(end.stderr).toContain("stage 04 never: not_run");
    expect(end.stderr).toContain(`stagetrace show ${run}`);
    expect(end.stderr).not.toContain("\u001b[");

    const traceId = summary.trace.trace_id;
    await receiver.waitFor((r) => r.spans().filter((s) => s.spanContext().traceId === traceId).length >= 4, 20_000);
    const spans = receiver.spans().filter((s) => s.spanContext().traceId === traceId);
    const runSpan = spans.find((s) => s.name === "RUN hosts")!;
    expect(runSpan.spanContext().spanId).toBe(summary.trace.span_id);
    expect(runSpan.parentSpanContext).toBeUndefined();
    expect(runSpan.attributes["cicd.pipeline.result"]).toBe("failure");
    const stageSpans = spans.filter((s) => s.name.startsWith("stage "));
    expect(stageSpans.map((s) => s.name).sort()).toEqual(["stage checksum", "stage count_words", "stage prepare"]);
    for (const s of stageSpans) {
      expect(s.parentSpanContext?.spanId).toBe(summary.trace.span_id);
      expect(s.attributes["cicd.pipeline.run.id"]).toBe(summary.run_id);
      expect(s.attributes["cicd.pipeline.name"]).toBe("hosts");
    }
    // One pipeline log of whole lines: run begin's, every stage's, run end's.
    const lines = readLogLines(pipelineLogOf(run));
    const runLines = lines.filter((l) => l.stage === undefined);
    expect(runLines.map((l) => l.msg)).toEqual([
      expect.stringMatching(/^pipeline hosts started/),
      expect.stringMatching(/^pipeline hosts failed/),
    ]);
    expect(new Set(lines.map((l) => l.stage))).toEqual(new Set([undefined, "prepare", "count_words", "checksum"]));
    // The ended run is recorded in its state: a second run end refuses.
    expect(readJson(join(run, ".stagetrace-run.json")).ended_at).toBe(summary.ended_at);
    const again = await runCli(["run", "end", "--run-dir", run]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already ended at/);
  }, 120_000);

  it("keeps a stage on another host running while its lease is renewed, and abandoned only once it expired; run end then marks it interrupted", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const begin = await runCli(["run", "begin", "--run-dir", run, "--name", "lease", "--stages", "stuck"]);
    const vars = envLines(begin.stdout);
    const stuck = task(
      "host-d",
      ["stagetrace", "exec", "--stage", "stuck", "--", "sleep", "600"],
      taskEnv(vars, { STAGETRACE_LEASE_TIMEOUT_S: "2" }),
    );
    const stageDir = join(run, "01_stuck");
    await until("the stage's lease", () => existsSync(join(stageDir, LEASE_FILE)) && existsSync(join(stageDir, "manifest.json")));
    const lease = readJson<Lease>(join(stageDir, LEASE_FILE));
    expect(lease.timeout_s).toBe(2);
    if (NAMESPACES) expect(lease).toMatchObject({ host: "host-d" });
    // Alive and renewing: running, from any reader.
    await until("a renewed lease", () => readJson<Lease>(join(stageDir, LEASE_FILE)).renewed_at !== lease.renewed_at);
    expect(loadRun(run).stages[0]!.state).toBe("running");

    // The host goes away (everything in its namespaces dies at once).
    process.kill(-stuck.child.pid!, "SIGKILL");
    await stuck.done;
    const last = readJson<Lease>(join(stageDir, LEASE_FILE));
    const abandonedAt = await until("the stage to count as abandoned", () => {
      const state = loadRun(run).stages[0]!.state;
      // Taken after the check, so it is no earlier than the moment the check judged.
      const now = Date.now();
      if (state === "abandoned") return now;
      // Never before the lease expired. (In the namespace variant the local pid check never applies.)
      if (NAMESPACES) expect(state).toBe("running");
      return undefined;
    });
    if (NAMESPACES) expect(abandonedAt - Date.parse(last.renewed_at)).toBeGreaterThan(2000);

    if (NAMESPACES) {
      const shown = await runCliInProcess(["show", run]);
      expect(shown.stdout).toMatch(/abandoned[\s\S]*its lease on host host-d expired at /);
    }
    const end = await runCli(["run", "end", "--run-dir", run], { env: { NO_COLOR: "1" } });
    expect(end.code).toBe(1);
    const m = readJson(join(stageDir, "manifest.json"));
    expect(m.status).toBe("interrupted");
    if (NAMESPACES) expect(m.status_reason).toMatch(/lease on host host-d .* expired/);
    expect(end.stderr).toMatch(/stage 01 stuck: interrupted/);
    expect(end.stderr).toContain(join(stageDir, "manifest.json"));
    expect(end.stderr).toContain(join(stageDir, "stage.log"));
  }, 120_000);
});

describe("leases, judged by the reader", () => {
  function runningManifest(dir: string, host: string, pid: number): any {
    const m = readJson(join(dir, "manifest.json"));
    return { ...m, status: "running", process: { ...m.process, hostname: host, pid } };
  }

  it("never judges a process on another host by the local process table; its lease decides, at its timeout and not before", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const r = await runCli(["exec", "--stage", "remote", "--", "true"], { env: { OUTPUT_DIR: run } });
    expect(r.code).toBe(0);
    const stageDir = join(run, "remote");
    // A pid that is surely gone here.
    const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
    const pid = Number(gone.stdout.trim());
    const m = runningManifest(stageDir, "another-host", pid);
    // No lease to read: nothing here can tell, so it stays running.
    expect(stageState(m, stageDir)).toBe("running");
    const renewed = Date.parse("2026-01-01T00:00:00Z");
    const lease: Lease = {
      host: "another-host",
      boot_id: "x",
      pid_ns: "pid:[1]",
      pid,
      renewed_at: new Date(renewed).toISOString(),
      timeout_s: 60,
    };
    writeFileSync(join(stageDir, LEASE_FILE), JSON.stringify(lease));
    expect(stageState(m, stageDir, renewed + 59_000)).toBe("running");
    expect(stageState(m, stageDir, renewed + 60_000)).toBe("running");
    expect(stageState(m, stageDir, renewed + 60_001)).toBe("abandoned");
    // The same host name in another pid namespace (a container) is another process table too.
    const me = localProcessTable();
    writeFileSync(join(stageDir, LEASE_FILE), JSON.stringify({ ...lease, host: me.host, boot_id: me.boot_id, pid_ns: "pid:[4026530000]" }));
    expect(stageState({ ...m, process: { ...m.process, hostname: me.host } }, stageDir, renewed + 1000)).toBe("running");
    // This very process table: the pid is checked, whatever the lease says.
    writeFileSync(join(stageDir, LEASE_FILE), JSON.stringify({ ...lease, ...me, renewed_at: new Date().toISOString() }));
    expect(stageState({ ...m, process: { ...m.process, hostname: me.host } }, stageDir)).toBe("abandoned");
    expect(stageState({ ...m, process: { ...m.process, hostname: me.host, pid: process.pid } }, stageDir)).toBe("running");
  });

  it("a finished stage leaves no lease behind", async () => {
    const run = join(tempDir(), "run");
    const r = await runCli(["exec", "--stage", "done", "--", "true"], { env: { OUTPUT_DIR: run } });
    expect(r.code).toBe(0);
    expect(existsSync(join(run, "done", LEASE_FILE))).toBe(false);
  });
});

describe("re-runs into an existing run directory", () => {
  function script(dir: string, body: string): string {
    const path = join(dir, `p${Math.random().toString(36).slice(2)}.sh`);
    writeFileSync(path, body);
    return path;
  }

  it("a new run gets a new run id and a new trace, and lists only its own stages; --resume keeps both", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const first = await runCli([
      "run",
      "--run-dir",
      run,
      "--",
      "bash",
      script(dir, "stagetrace exec --stage a -- true\nstagetrace exec --stage b -- true\n"),
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe(""); // quiet on success
    const one = readJson(join(run, "pipeline.json"));
    const second = await runCli(["run", "--run-dir", run, "--summary", "--", "bash", script(dir, "stagetrace exec --stage a -- true\n")]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`already holds run ${one.run_id}; starting a new run`);
    expect(second.stderr).toMatch(/pipeline p\w+ success after [\d.]+ s: 1 stage;/); // --summary
    const two = readJson(join(run, "pipeline.json"));
    expect(two.run_id).not.toBe(one.run_id);
    expect(two.trace.trace_id).not.toBe(one.trace.trace_id);
    // Stage b belongs to the first run: not part of this one, in pipeline.json, show or the report.
    expect(two.stages.map((s: any) => s.name)).toEqual(["a"]);
    const loaded = loadRun(run);
    expect(loaded.stages.map((s) => s.name)).toEqual(["a"]);
    expect(loaded.otherRuns?.map((s) => s.name)).toEqual(["b"]);
    const shown = await runCliInProcess(["show", run]);
    expect(shown.stdout).toMatch(/^\s+a\s+success/m);
    expect(shown.stdout).not.toMatch(/^\s+b\s+/m);
    expect(readJson(join(run, "a", "manifest.json")).trace.trace_id).toBe(two.trace.trace_id);

    const resumed = await runCli(["run", "--run-dir", run, "--resume", "--", "bash", script(dir, "stagetrace exec --stage c -- true\n")]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const three = readJson(join(run, "pipeline.json"));
    expect(three.run_id).toBe(two.run_id);
    expect(three.trace.trace_id).toBe(two.trace.trace_id);
    expect(three.trace.parent_span_id).toBe(two.trace.span_id);
    expect(three.stages.map((s: any) => s.name)).toEqual(["a", "c"]);
    expect(validateAgainstSchema("pipeline", three)).toEqual([]);

    const nothing = await runCli(["run", "--run-dir", join(dir, "empty"), "--resume", "--", "true"]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/--resume: .*empty holds no run to resume/);
  }, 60_000);

  it("re-running one stage into an ended run keeps its number from the saved stage list and updates pipeline.json", async () => {
    const dir = tempDir();
    const run = join(dir, "run");
    const flag = join(dir, "ok");
    const body = `stagetrace exec --stage fetch -- true\nstagetrace exec --stage flaky -- sh -c 'test -e "${flag}"' || exit 1\nstagetrace exec --stage publish -- true\n`;
    const first = await runCli(
      ["run", "--run-dir", run, "--name", "rerun", "--stages", "fetch,flaky,publish", "--", "bash", script(dir, body)],
      { env: { NO_COLOR: "1" } },
    );
    expect(first.code).toBe(1);
    // The summary: which stage, why, and where to look.
    expect(first.stderr).toContain("pipeline rerun failed (exit code 1)");
    expect(first.stderr).toMatch(/stage 02 flaky: failed: .*exit/);
    expect(first.stderr).toContain(join(run, "02_flaky", "stage.log"));
    expect(first.stderr).toContain("stage 03 publish: not_run");
    const before = readJson(join(run, "pipeline.json"));
    expect(before.status).toBe("failed");

    // The re-runs, on their own: no stage list in the environment, no stagetrace run around them.
    writeFileSync(flag, "");
    for (const stage of ["flaky", "publish"]) {
      const r = await runCli(["exec", "--stage", stage, "--", "true"], { env: { OUTPUT_DIR: run } });
      expect(r.code, r.stderr).toBe(0);
    }
    expect(existsSync(join(run, "02_flaky", "manifest.json"))).toBe(true);
    expect(existsSync(join(run, "flaky"))).toBe(false);
    const after = readJson(join(run, "pipeline.json"));
    expect(validateAgainstSchema("pipeline", after)).toEqual([]);
    expect(after.run_id).toBe(before.run_id);
    expect(after.status).toBe("success");
    expect(after.updated_at).toEqual(expect.any(String));
    expect(after.stages.map((s: any) => [s.number, s.name, s.status])).toEqual([
      [1, "fetch", "success"],
      [2, "flaky", "success"],
      [3, "publish", "success"],
    ]);
    // The re-run stages are in the run's trace, under its run span.
    for (const d of ["02_flaky", "03_publish"]) {
      const m = readJson(join(run, d, "manifest.json"));
      expect(m.trace.trace_id).toBe(before.trace.trace_id);
      expect(m.trace.parent_span_id).toBe(before.trace.span_id);
      expect(m.pipeline.run_id).toBe(before.run_id);
    }
  }, 60_000);
});

describe("the summary on stderr", () => {
  it("uses colour only on a terminal, and never with NO_COLOR", () => {
    expect(colourFor({ isTTY: true }, {})).toBe(true);
    expect(colourFor({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(colourFor({ isTTY: true }, { NO_COLOR: "" })).toBe(true);
    expect(colourFor({ isTTY: true }, { TERM: "dumb" })).toBe(false);
    expect(colourFor({ isTTY: false }, {})).toBe(false);
    expect(colourFor({}, {})).toBe(false);
  });

  it("run begin prints shell and JSON forms and appends to an env file; bad options are one-line usage errors", async () => {
    const dir = tempDir();
    const envFile = join(dir, "github_env");
    writeFileSync(envFile, "EARLIER=1\n");
    const sh = await runCli(["run", "begin", "--run-dir", join(dir, "r"), "--format", "sh", "--env-file", envFile, "--run-id", "job-42"]);
    expect(sh.code, sh.stderr).toBe(0);
    expect(sh.stdout).toContain("export STAGETRACE_RUN_ID='job-42'");
    const sourced = spawnSync("sh", ["-c", `${sh.stdout}\necho "$TRACEPARENT $STAGETRACE_RUN_ID"`], { encoding: "utf8" });
    expect(sourced.stdout.trim()).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01 job-42$/);
    const lines = readFileSync(envFile, "utf8").split("\n");
    expect(lines[0]).toBe("EARLIER=1");
    expect(lines).toContain("STAGETRACE_RUN_ID=job-42");
    const json = await runCli(["run", "begin", "--run-dir", join(dir, "j"), "--format", "json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ OUTPUT_DIR: join(dir, "j"), STAGETRACE_PIPELINE: "j" });

    for (const [args, message] of [
      [["run", "begin", "--format", "yaml"], /--format must be env, sh or json/],
      [["run", "begin", "--stages", "a,a"], /--stages names "a" twice/],
      [["run", "end", "--status", "ok"], /--status must be success, failed or interrupted/],
      [["run", "end", "--exit-code", "x"], /--exit-code must be a whole number/],
      [["run", "begin", "--", "true"], /takes no command after --/],
    ] as [string[], RegExp][]) {
      const r = await runCliInProcess(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const noRun = await runCli(["run", "end", "--run-dir", join(dir, "nothing")]);
    expect(noRun.code).toBe(1);
    expect(noRun.stderr).toMatch(/holds no begun run .*run begin/);
  });
});
