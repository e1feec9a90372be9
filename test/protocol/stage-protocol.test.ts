import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_RECORD_BYTES, parseStageRecord } from "../../src/protocol/stage-record.js";
import { validateAgainstSchema } from "../../src/schema/validate.js";
import { runCli, runCliInProcess, CLI } from "../support/cli.js";
import { readJson, readLogLines, tempDir } from "../support/tmp.js";

const VALID = [
  { v: 1, record: "input", path: "/data/audio.wav", file_type: "audio", metadata: { sample_rate: 48000 } },
  { v: 1, record: "output", path: "transcript.json" },
  { v: 1, record: "intermediate", path: "/cache/model.bin", retained: true, reason: "model cache", hash: false },
  { v: 1, record: "config", values: { model: "large-v2", nested: { a: 1 } } },
  { v: 1, record: "warning", message: "low quality" },
  { v: 1, record: "error", message: "failed", exception: { type: "ValueError", message: "bad", stack: "Traceback ..." } },
  { v: 1, record: "resources", values: { memory_mb: 12.5 } },
  { v: 1, record: "status", status: "skipped", reason: "flag off" },
  { v: 1, record: "log", level: "WARNING", message: "hello", logger: "asr", console: false },
  { v: 1, record: "log", level: "info", message: "running sh", fields: { command: ["sh", "-c", "true"], stream: "stdout" } },
  { v: 1, record: "line", level: 30, line: '{"level":"INFO","msg":"hi"}\n' },
  { v: 1, record: "secret", value: "s3cr3t-value" },
  {
    v: 1,
    record: "begin",
    stage: "asr",
    pid: 4242,
    host: "build-7",
    argv: ["node", "asr.js"],
    start: 1767225600000,
    trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
    span_id: "00f067aa0ba902b7",
    traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01",
    run_dir: "/runs/1",
    stage_number: 2,
    stages: ["prep", "asr"],
    env: { OUTPUT_DIR: "/runs/1" },
    stderr_tty: false,
  },
  {
    v: 1,
    record: "begin",
    stage: "exec",
    pid: 1,
    argv: ["node", "stagetrace", "exec", "--stage", "exec", "--", "sh", "-c", "true"],
    command: ["sh", "-c", "true"],
    start: 0,
    trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
    span_id: "00f067aa0ba902b7",
    run_dir: "/r",
  },
  {
    v: 1,
    record: "begin",
    stage: "solo",
    pid: 1,
    start: 0,
    trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
    span_id: "00f067aa0ba902b7",
    run_dir: "/r",
  },
  {
    v: 1,
    record: "end",
    end: 1767225601000,
    status: "interrupted",
    reason: "SIGTERM",
    at_once: true,
    when: "SIGTERM arrived",
    exit_code: 143,
  },
  { v: 1, record: "end", end: 1767225601000, resources: { cpu_user_ms: 40 }, extra: { model: "v2" }, save_manifest: false },
  {
    v: 1,
    record: "end",
    end: 1767225601000,
    status: "failed",
    reason: "command crashed: killed by SIGSEGV",
    exit_code: 139,
    signal: "SIGSEGV",
  },
];

/** A valid begin record with only the fields it must have; the invalid ones below change one of them. */
const BEGIN = {
  v: 1,
  record: "begin",
  stage: "a",
  pid: 1,
  start: 0,
  trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
  span_id: "00f067aa0ba902b7",
  run_dir: "/r",
};

const INVALID: [unknown, RegExp][] = [
  [{ v: 2, record: "warning", message: "x" }, /version/],
  [{ v: 1, record: "nope" }, /unknown record/],
  [{ v: 1, record: "output" }, /path/],
  [{ v: 1, record: "output", path: "x", metadata: [] }, /metadata/],
  [{ v: 1, record: "status", status: "interrupted" }, /status/],
  [{ v: 1, record: "log", level: "loud", message: "x" }, /level/],
  [{ v: 1, record: "error", message: "x", exception: { type: 3 } }, /type/],
  [[1, 2], /object/],
  [{ v: 1, record: "line", level: "info", line: "x\n" }, /level/],
  [{ v: 1, record: "line", level: 30, line: "no newline" }, /newline/],
  [{ v: 1, record: "secret" }, /value/],
  [{ ...BEGIN, trace_id: "0".repeat(32) }, /trace_id/],
  [{ ...BEGIN, span_id: "xyz" }, /span_id/],
  [{ ...BEGIN, pid: 1.5 }, /pid/],
  [{ ...BEGIN, traceparent: "not-a-traceparent" }, /traceparent/],
  [
    { v: 1, record: "begin", pid: 1, start: 0, trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", span_id: "00f067aa0ba902b7", run_dir: "/r" },
    /stage/,
  ],
  [{ v: 1, record: "end" }, /end/],
  [{ v: 1, record: "end", end: 1, status: "running" }, /status/],
  [{ v: 1, record: "end", end: 1, resources: { cpu: "lots" } }, /resources/],
  [{ v: 1, record: "end", end: 1, signal: "segv" }, /signal/],
  [{ v: 1, record: "log", level: "info", message: "x", fields: ["stdout"] }, /fields/],
  [{ ...BEGIN, command: "sh -c true" }, /command/],
];

describe("stage records", () => {
  it("parses every kind of record, and the schema accepts each", () => {
    for (const r of VALID) {
      expect(parseStageRecord(JSON.stringify(r)), JSON.stringify(r)).toHaveProperty("record");
      expect(validateAgainstSchema("stage-record", r), JSON.stringify(r)).toEqual([]);
    }
  });

  it("names what is wrong with a record that is not one, and the schema rejects it too", () => {
    for (const [r, why] of INVALID) {
      const parsed = parseStageRecord(JSON.stringify(r));
      expect(parsed, JSON.stringify(r)).toHaveProperty("problem");
      expect((parsed as { problem: string }).problem).toMatch(why);
      expect(validateAgainstSchema("stage-record", r).length, JSON.stringify(r)).toBeGreaterThan(0);
    }
    expect(parseStageRecord("{not json")).toMatchObject({ problem: expect.stringMatching(/not JSON/) });
  });
});

/** Runs `sh -c SCRIPT` as stage `name` under the real CLI, with the CLI on PATH. */
async function execSh(script: string, name = "shelly", extra: string[] = []) {
  const run = tempDir();
  const result = await runCli(["exec", "--stage", name, ...extra, "--", "sh", "-c", script], {
    env: { OUTPUT_DIR: run, PATH: `${join(CLI, "..")}:${process.env.PATH}` },
  });
  const stageDir = join(run, name);
  return { run, stageDir, result, manifest: readJson(join(stageDir, "manifest.json")), log: readLogLines(join(stageDir, "stage.log")) };
}

describe("stagetrace exec and the records channel", () => {
  it("a shell stage records files found at run time, config, warnings, errors and a skip with stagetrace track", async () => {
    const {
      manifest: m,
      result,
      stageDir,
    } = await execSh(
      [
        'mkdir -p "$STAGE_DIR/.cache"; echo weights > "$STAGE_DIR/.cache/model.bin"',
        'for i in 1 2; do echo "part $i" > "$STAGE_DIR/part$i.txt"; stagetrace track output "$STAGE_DIR/part$i.txt" --type text --meta index=$i --meta final=false; done',
        'cd "$STAGE_DIR" && stagetrace track input part1.txt --type text',
        'stagetrace track intermediate "$STAGE_DIR/.cache/model.bin" --retained --reason "model cache"',
        "stagetrace track config model=small threshold=0.2 api_key=sk-secret-99",
        "stagetrace track warning low quality audio",
        'stagetrace track error "chunk 7 was empty"',
        'stagetrace track status skipped --reason "nothing to do"',
      ].join("\n"),
    );
    expect(result.code).toBe(0);
    expect(m.status).toBe("skipped");
    expect(m.status_reason).toBe("nothing to do");
    expect(m.outputs.map((o: any) => [o.name, o.type, o.metadata])).toEqual([
      ["part1.txt", "text", { index: 1, final: false }],
      ["part2.txt", "text", { index: 2, final: false }],
    ]);
    expect(m.inputs[0]).toMatchObject({ path: join(stageDir, "part1.txt"), type: "text", exists: true });
    expect(m.intermediate_files[0]).toMatchObject({ name: "model.bin", retained: true, reason: "model cache", exists: true });
    expect(m.config).toEqual({ model: "small", threshold: 0.2, api_key: "[REDACTED]" });
    expect(m.warnings.map((w: any) => w.message)).toEqual(["low quality audio"]);
    expect(m.errors).toEqual([expect.objectContaining({ message: "chunk 7 was empty", type: "Error" })]);
    expect(existsSync(join(stageDir, ".stagetrace-records.jsonl"))).toBe(false);
  });

  it("keeps the records a command wrote just before it was killed", async () => {
    const { manifest: m, result } = await execSh(
      'stagetrace track warning "about to die"; echo x > "$STAGE_DIR/a.txt"; stagetrace track output "$STAGE_DIR/a.txt"; kill -KILL $$',
    );
    // exec dies by its command's signal; a SIGKILL exec did not send is a crash.
    expect(result.signal).toBe("SIGKILL");
    expect(m.status).toBe("failed");
    expect(m.warnings.map((w: any) => w.message)).toContain("about to die");
    expect(m.outputs.map((o: any) => o.name)).toEqual(["a.txt"]);
  });

  it("turns malformed, oversized and torn records into warnings and goes on", async () => {
    const { manifest: m, result } = await execSh(
      [
        'echo "not json" >> "$STAGETRACE_RECORDS"',
        `big=$(head -c ${MAX_RECORD_BYTES + 10} /dev/zero | tr '\\0' x); printf '{"v":1,"record":"warning","message":"%s"}\\n' "$big" >> "$STAGETRACE_RECORDS"`,
        `echo '{"v":9,"record":"warning","message":"future"}' >> "$STAGETRACE_RECORDS"`,
        `echo '{"v":1,"record":"warning","message":"still read"}' >> "$STAGETRACE_RECORDS"`,
        `printf '{"v":1,"record":"warn' >> "$STAGETRACE_RECORDS"`,
      ].join("\n"),
    );
    expect(result.code).toBe(0);
    expect(m.status).toBe("success");
    const warnings: string[] = m.warnings.map((w: any) => w.message);
    expect(warnings).toContain("still read");
    expect(warnings.filter((w) => w.startsWith("stage protocol:"))).toEqual([
      expect.stringMatching(/malformed record ignored: not JSON/),
      expect.stringMatching(new RegExp(`a record over ${MAX_RECORD_BYTES} bytes at byte \\d+ of the records file was dropped`)),
      expect.stringMatching(/unsupported protocol version 9/),
      expect.stringMatching(/malformed record ignored: not JSON/),
    ]);
    expect(JSON.stringify(m)).not.toContain("xxxxxxxxxx");
  });

  it("logs records as stage log lines: DEBUG to stage.log only, INFO and up to the pipeline log too", async () => {
    const { log, run } = await execSh(
      [
        `echo '{"v":1,"record":"log","level":"debug","message":"fine detail","logger":"asr"}' >> "$STAGETRACE_RECORDS"`,
        `echo '{"v":1,"record":"log","level":"critical","message":"on fire","logger":"asr"}' >> "$STAGETRACE_RECORDS"`,
      ].join("\n"),
    );
    expect(log.find((l) => l.msg === "fine detail")).toMatchObject({ level: "DEBUG", logger: "asr", stage: "shelly" });
    expect(log.find((l) => l.msg === "on fire")).toMatchObject({ level: "FATAL", logger: "asr" });
    const logs = join(run, "logs");
    const pipeline = readLogLines(join(logs, readdirSync(logs)[0]!)).map((l) => l.msg);
    expect(pipeline).toContain("on fire");
    expect(pipeline).not.toContain("fine detail");
  });

  it("takes a burst of 50,000 records, losing none", async () => {
    const { log, manifest: m } = await execSh(
      `python3 -c 'import json, os
fd = os.open(os.environ["STAGETRACE_RECORDS"], os.O_WRONLY | os.O_APPEND)
for i in range(50000): os.write(fd, (json.dumps({"v": 1, "record": "log", "level": "debug", "message": "line %d" % i}) + "\\n").encode())'`,
    );
    expect(m.status).toBe("success");
    const lines = log.filter((l) => typeof l.msg === "string" && l.msg.startsWith("line "));
    expect(lines).toHaveLength(50_000);
    expect(lines[49_999].msg).toBe("line 49999");
    expect(m.warnings).toEqual([]);
  });

  it("a reported success does not hide a non-zero exit code", async () => {
    const { manifest: m, result } = await execSh('stagetrace track status success; echo "ERROR: disk full" >&2; exit 4');
    expect(result.code).toBe(4);
    expect(m.status).toBe("failed");
    expect(m.status_reason).toBe("ERROR: disk full (command exited with code 4)");
  });

  it("stagetrace track outside exec fails and names the variable", async () => {
    const r = await runCliInProcess(["track", "warning", "hello"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("STAGETRACE_RECORDS is not set");
    expect(r.stderr).toContain("stagetrace exec");
    const records = join(tempDir(), "r.jsonl");
    const bad = await runCliInProcess(["track", "status", "maybe"], { env: { STAGETRACE_RECORDS: records } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("success, failed or skipped");
    expect(existsSync(records)).toBe(false);
  });

  it("stagetrace track appends one record to the file of the env it is given", async () => {
    const records = join(tempDir(), "r.jsonl");
    const r = await runCliInProcess(["track", "output", "out.tsv", "--type=audio", "--meta", "channels=2", "--meta", "lang=en"], {
      env: { STAGETRACE_RECORDS: records },
    });
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const lines = readFileSync(records, "utf8").split("\n").filter(Boolean);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { v: 1, record: "output", path: join(process.cwd(), "out.tsv"), file_type: "audio", metadata: { channels: 2, lang: "en" } },
    ]);
  });

  it.each([
    [["track"], "what to track? input, output, intermediate, config, warning, error or status"],
    [["track", "frames", "x"], 'cannot track "frames"'],
    [["track", "output", "a", "b"], "track output takes one FILE"],
    [["track", "intermediate", "f", "--meta", "k=v"], "--meta is for input and output"],
    [["track", "output", "f", "--retained"], "--retained and --reason are for intermediate"],
    [["track", "output", "f", "--meta", "novalue"], '--meta expects KEY=VALUE, got "novalue"'],
    [["track", "warning", "w", "--type", "t"], "--type, --meta and --retained are for files, not warning"],
    [["track", "config"], "track config needs KEY=VALUE"],
    [["track", "error"], "track error needs a MESSAGE"],
    [["track", "warning", "w", "--reason", "r"], "--reason is for status and intermediate"],
    [["track", "warning", "w", "--reason"], "--reason needs a value"],
    [["track", "warning", "--", "w"], "takes no command after --"],
  ])("stagetrace track %j is a usage error naming what is wrong, and records nothing", async (args, message) => {
    const records = join(tempDir(), "r.jsonl");
    const r = await runCliInProcess(args, { env: { STAGETRACE_RECORDS: records } });
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(`stagetrace track: ${message}`);
    expect(r.stderr).toContain("Usage: stagetrace track input|output FILE [--type T] [--meta KEY=VALUE]...\n");
    expect(existsSync(records)).toBe(false);
  });
});

describe("commands that know nothing of stagetrace", () => {
  it("a Python traceback is one ERROR block, an exception event and the failed stage's reason", async () => {
    const {
      manifest: m,
      result,
      log,
    } = await execSh(
      "python3 -c \"import logging\nlogging.basicConfig()\nlogging.warning('disk low')\ndef load(p):\n    raise FileNotFoundError('model.bin is missing')\nload(1)\"",
    );
    expect(result.code).toBe(1);
    expect(m.status).toBe("failed");
    expect(m.status_reason).toBe("FileNotFoundError: model.bin is missing (command exited with code 1)");
    expect(m.errors).toHaveLength(1);
    expect(m.errors[0]).toMatchObject({ type: "FileNotFoundError", message: "FileNotFoundError: model.bin is missing" });
    expect(m.errors[0].stack).toMatch(
      /^Traceback \(most recent call last\):\n {2}File "<string>", line 6, in <module>\n[\s\S]*FileNotFoundError: model.bin is missing$/,
    );
    const blocks = log.filter((l) => String(l.msg).includes("Traceback"));
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toMatchObject({ level: "ERROR", stream: "stderr", exception_type: "FileNotFoundError" });
    expect(log.some((l) => l.level === "INFO" && String(l.msg).includes('File "<string>"'))).toBe(false);
    expect(log.find((l) => l.msg === "WARNING:root:disk low")).toMatchObject({ level: "WARN" });
  });

  it("Python logging's formats give a line its level, and the last ERROR line is the reason", async () => {
    const { manifest: m, log } = await execSh(
      [
        "echo '2026-01-01 12:00:00,123 - asr - INFO - loading model'",
        "echo '2026-01-01 12:00:01,456 - asr - ERROR - model missing' >&2",
        "echo 'CRITICAL:root:giving up' >&2",
        "exit 2",
      ].join("\n"),
    );
    expect(log.find((l) => String(l.msg).endsWith("loading model"))).toMatchObject({ level: "INFO" });
    expect(log.find((l) => String(l.msg).endsWith("model missing"))).toMatchObject({ level: "ERROR" });
    expect(log.find((l) => l.msg === "CRITICAL:root:giving up")).toMatchObject({ level: "FATAL" });
    expect(m.status_reason).toBe("CRITICAL:root:giving up (command exited with code 2)");
  });
});
