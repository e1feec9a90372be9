import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, runCliInProcess } from "../support/cli.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { FIXTURE } from "../support/spawn-stage.js";
import { readJson, tempDir } from "../support/tmp.js";

let receiver: OtlpReceiver;
let run: string;
let failedRun: string;

/** A three-stage run: exec, a JS stage, exec. `fail` makes the middle one fail. */
async function makeRun(fail: boolean): Promise<string> {
  const dir = tempDir();
  const script = join(dir, "p.sh");
  writeFileSync(
    script,
    [
      "set -e",
      `stagetrace exec --stage fetch --config apiKey=tmdb-secret-123 --output "data file.txt:text" -- sh -c 'echo 1 2 3 > "$STAGE_DIR/data file.txt"'`,
      `FIXTURE_STAGE=crunch FIXTURE_LINES=2 ${fail ? "FIXTURE_FAIL='no usable rows\nsecond line'" : ""} node "${FIXTURE}" > /dev/null`,
      `stagetrace exec --stage publish --input "$OUTPUT_DIR/01_fetch/data file.txt" -- true`,
    ].join("\n"),
  );
  const out = join(dir, "run");
  const r = await runCli(["run", "--name", "cmds", "--run-dir", out, "--stages", "fetch,crunch,publish", "--", "bash", script], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
  });
  expect(r.code, r.stderr).toBe(fail ? 1 : 0);
  return out;
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  run = await makeRun(false);
  failedRun = await makeRun(true);
});
afterAll(() => receiver.close());

describe("stagetrace show", () => {
  it("summarises a run: one line per stage, files, no colour when not a terminal", async () => {
    const r = await runCliInProcess(["show", run]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^RUN cmds .* success /m);
    expect(r.stdout).toMatch(/^ {2}01 fetch +success +\d+ ms {2}in 0 {2}out 1$/m);
    expect(r.stdout).toMatch(/^ {2}02 crunch +success/m);
    expect(r.stdout).toContain("out  01_fetch/data file.txt (6 B)");
    expect(r.stdout).toContain("in   01_fetch/data file.txt (6 B)");
    expect(r.stdout).not.toContain("\u001b[");
  });

  it("exits 1 for a failed run and shows the first line of the error", async () => {
    const r = await runCliInProcess(["show", failedRun]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/02 crunch +failed/);
    expect(r.stdout).toMatch(/error: TypeError: no usable rows$/m);
    expect(r.stdout).not.toContain("second line");
    expect(r.stdout).toMatch(/03 publish +not_run/);
  });

  it("--json gives scripts the same summary", async () => {
    const r = await runCliInProcess(["show", "--json", failedRun]);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.pipeline).toMatchObject({ name: "cmds", status: "failed" });
    expect(json.stages.map((s: any) => [s.name, s.status])).toEqual([
      ["fetch", "success"],
      ["crunch", "failed"],
      ["publish", "not_run"],
    ]);
    expect(json.stages[1].errors[0]).toEqual({ type: "TypeError", message: "no usable rows" });
  });

  it("shows one stage directory or one manifest", async () => {
    const byDir = await runCliInProcess(["show", join(run, "01_fetch")]);
    const byFile = await runCliInProcess(["show", join(run, "01_fetch", "manifest.json")]);
    expect(byDir.code).toBe(0);
    expect(byDir.stdout).toMatch(/01 fetch +success/);
    expect(byFile.stdout).toBe(byDir.stdout);
  });

  it("reports a stage left running by a process that is gone as abandoned", async () => {
    const dir = tempDir();
    const stageDir = join(dir, "01_ghost");
    mkdirSync(stageDir);
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const m = readJson(join(run, "01_fetch", "manifest.json"));
    Object.assign(m, { stage: "ghost", status: "running", ended_at: null, duration_ms: null });
    m.process.pid = Number(gone.stdout);
    writeFileSync(join(stageDir, "manifest.json"), JSON.stringify(m));
    const r = await runCliInProcess(["show", dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/01 ghost +abandoned/);
    expect(r.stdout).toContain(`process ${gone.stdout} on`);
  });

  it("names a path that does not exist", async () => {
    const r = await runCli(["show", "/nonexistent/run"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/nonexistent/run: no such file or directory");
  });
});

describe("stagetrace validate", () => {
  it("accepts every manifest and pipeline.json of a run", async () => {
    const r = await runCli(["validate", run]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain("4 of 4 valid");
  });

  it("rejects a broken manifest, naming the JSON path of each fault", async () => {
    const dir = tempDir();
    const m = readJson(join(run, "01_fetch", "manifest.json"));
    m.outputs[0].size = "big";
    m.status = "done";
    delete m.trace;
    const bad = join(dir, "bad-manifest.json");
    writeFileSync(bad, JSON.stringify(m));
    const r = await runCliInProcess(["validate", bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/bad-manifest\.json: \$\.outputs\[0\]\.size: must be integer/);
    expect(r.stdout).toMatch(/bad-manifest\.json: \$\.status: must be equal to one of the allowed values: "success"/);
    expect(r.stdout).toMatch(/bad-manifest\.json: \$\.trace: is required but missing/);
  });

  it("says which file is not JSON at all", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "broken.json"), "{ not json");
    const r = await runCliInProcess(["validate", join(dir, "broken.json")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/broken\.json: not valid JSON/);
  });
});

describe("stagetrace replay", () => {
  it("rebuilds from the OTLP/JSON export the same manifests the run wrote live", async () => {
    const traceId = readJson(join(run, "pipeline.json")).trace.trace_id;
    await receiver.waitFor((r) => r.spans().filter((s) => s.spanContext().traceId === traceId).length >= 4);
    // What the Collector's file exporter writes: one ExportTraceServiceRequest per line.
    // Only this run's requests (each process sends its own trace's spans), so no stage dir is written twice.
    const lines = receiver.requests
      .filter((q) => q.path === "/v1/traces" && JSON.stringify(q.body).includes(traceId))
      .map((q) => JSON.stringify(q.body));
    const dir = tempDir();
    const traceFile = join(dir, "trace.json");
    writeFileSync(traceFile, lines.join("\n") + "\n");
    const out = join(dir, "replayed");
    const r = await runCli(["replay", traceFile, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    for (const stageDir of ["01_fetch", "02_crunch", "03_publish"]) {
      const live = readJson(join(run, stageDir, "manifest.json"));
      const replayed = readJson(join(out, stageDir, "manifest.json"));
      expect(live.telemetry).toMatchObject({ state: "final", dropped: 0 });
      delete live.telemetry;
      delete replayed.telemetry;
      expect(replayed).toEqual(live);
    }
    expect(readdirSync(out).sort()).toEqual(["01_fetch", "02_crunch", "03_publish"]);
  });

  it("fails clearly on a file that is not an OTLP export", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "t.json"), JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: "x" }] }] }] }));
    const r = await runCliInProcess(["replay", join(dir, "t.json"), "--out", join(dir, "o")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]/);
  });
});

describe("the stagetrace command", () => {
  it.each(["run", "run begin", "run end", "exec", "track", "show", "validate", "replay", "report", "diff"])(
    "%s --help prints its usage and exits 0",
    async (cmd) => {
      const r = await runCliInProcess([...cmd.split(" "), "--help"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(new RegExp(`^Usage: stagetrace ${cmd}`));
      expect(r.stdout).toMatch(/^ {2}-h, --help +this text$/m);
    },
  );

  it("--help as a process, and after -- it is the command's, not stagetrace's", async () => {
    const r = await runCli(["exec", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: stagetrace exec --stage NAME/);
    const after = await runCliInProcess(["exec", "--stage", "x", "--"]);
    expect(after.code).toBe(2);
    expect(after.stderr).toMatch(/^stagetrace exec: no command after --$/m);
  });

  it("rejects an unknown command with exit 2", async () => {
    const r = await runCliInProcess(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it("lists every command, without one, and exits 2", async () => {
    const r = await runCliInProcess([]);
    expect(r.code).toBe(2);
    for (const cmd of ["run", "run begin", "run end", "exec", "track", "show", "validate", "replay", "report", "diff"]) {
      expect(r.stdout).toMatch(new RegExp(`^ {2}${cmd} +\\S`, "m"));
    }
    expect((await runCliInProcess(["--help"])).code).toBe(0);
  });
});

describe("trace context handed to commands", () => {
  it("run and exec pass the BAGGAGE they were given on to their command, with their own TRACEPARENT", async () => {
    const out = tempDir();
    const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const r = await runCli(
      [
        "run",
        "--name",
        "bag",
        "--run-dir",
        out,
        "--",
        "stagetrace",
        "exec",
        "--stage",
        "show",
        "--",
        "sh",
        "-c",
        'echo "BAGGAGE=$BAGGAGE"; echo "TRACEPARENT=$TRACEPARENT"',
      ],
      { env: { BAGGAGE: "team=media,priority=high", TRACEPARENT: incoming, PATH: `${join(process.cwd(), "bin")}:${process.env.PATH}` } },
    );
    expect(r.code, r.stderr).toBe(0);
    const baggage = /BAGGAGE=(.*)/.exec(r.stdout)![1]!;
    expect(baggage.split(",").sort()).toEqual(["priority=high", "team=media"]);
    const traceparent = /TRACEPARENT=(.*)/.exec(r.stdout)![1]!;
    expect(traceparent.split("-")[1]).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(traceparent).not.toBe(incoming);
  });
});
