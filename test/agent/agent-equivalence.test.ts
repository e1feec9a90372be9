// The same stage, run in-process and through the run's agent, leaves the same
// records: manifest.json, stage.log, the pipeline log and the spans an OTLP
// receiver gets, line by line and attribute by attribute, once the values
// that differ between any two runs (ids, times, pids, the run directory,
// CPU and memory figures) are masked.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, runCli } from "../support/cli.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { pipelineLogOf, readJson, tempDir } from "../support/tmp.js";

const STAGE = fileURLToPath(new URL("../fixtures/agent-stage.mjs", import.meta.url));

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(() => receiver.close());

interface Run {
  /** The run directory. */
  dir: string;
  /** The test's directory: the pipeline script and the run directory, masked in what is compared. */
  root: string;
  traceId: string;
  stderr: string;
  code: number | null;
}

/** `stagetrace run` of a pipeline script of these lines in `dir`, its stages through the agent or (`inProcess`) not. */
async function runPipeline(dir: string, inProcess: boolean, name: string, stages: string[], lines: string[]): Promise<Run> {
  const script = join(dir, "pipeline.sh");
  writeFileSync(script, [inProcess ? "unset STAGETRACE_AGENT" : 'test -d "$STAGETRACE_AGENT"', ...lines].join("\n") + "\n");
  const run = join(dir, "run");
  const r = await runCli(["run", "--run-dir", run, "--name", name, "--stages", stages.join(","), "--", "sh", script], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, STAGETRACE_RUN_AGENT: "1" },
    cwd: dir,
  });
  return { dir: run, root: dir, traceId: readJson(join(run, "pipeline.json")).trace.trace_id, stderr: r.stderr, code: r.code };
}

/** `stagetrace run` over two stages (one succeeds, one throws); `inProcess` takes the agent away from them. */
async function pipeline(inProcess: boolean): Promise<Run> {
  return runPipeline(
    tempDir(),
    inProcess,
    "same",
    ["good", "bad"],
    [
      // The stages' own service and resource attributes, which the run (the agent) does not have.
      `FIXTURE_STAGE=good OTEL_SERVICE_NAME=subtitles OTEL_RESOURCE_ATTRIBUTES=team=media node "${STAGE}"`,
      `FIXTURE_STAGE=bad FIXTURE_FAIL=1 OTEL_RESOURCE_ATTRIBUTES=service.name=subtitles,team=media node "${STAGE}" || true`,
    ],
  );
}

const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g;
const VARYING = new Set([
  // Counts of what the process exported: in the agent, that process exports every stage of the run.
  "exported",
  "log_records_exported",
  "started_at",
  "ended_at",
  "duration_ms",
  "timestamp",
  "modified",
  "pid",
  "trace_id",
  "span_id",
  "parent_span_id",
  "run_id",
  "cpu_user_ms",
  "cpu_system_ms",
  "peak_rss_mb",
]);

/**
 * Text with the run directory, times, the pipeline log's name and the run id
 * masked, and of a stack trace the frames in the stage's own file only (the
 * frames between it and the stage API differ: in-process, the stage span is
 * made active through the context manager).
 */
function maskedText(text: string, run: string): string {
  return text
    .split(run)
    .join("<run>")
    .replace(ISO, "<time>")
    .replace(/after \d+(\.\d+)? s\b/g, "after N s")
    .replace(/_pipeline_[^"\s]+\.log/g, "_pipeline_<time>.log")
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z-[0-9a-f]+/g, "<run id>")
    .replace(/(\n\s+at [^\n]*)+/g, (frames) =>
      frames
        .split("\n")
        .filter((f) => f.includes("agent-stage.mjs"))
        .map((f) => `\n${f}`)
        .join(""),
    );
}

/** A value with what differs between two runs masked: listed keys, the run directory, times in text. */
function masked(value: unknown, run: string, key = ""): unknown {
  if (VARYING.has(key) && value !== null) return "<varies>";
  if (typeof value === "string") return maskedText(value, run);
  if (Array.isArray(value)) return value.map((v) => masked(v, run));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, run, k)]));
  }
  return value;
}

/** A log file's lines as text, with times, pids, ids, the run directory and the pipeline's duration masked. */
function maskedLines(path: string, run: string): string[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .map((line) => (line === "" ? line : JSON.stringify(masked(JSON.parse(line), run))))
    .join("\n")
    .replace(/"time":\d+/g, '"time":0')
    .replace(/"pid":\d+/g, '"pid":0')
    .replace(/"(trace_id|span_id)":"[0-9a-f]+"/g, '"$1":"x"')
    .replace(/"run_id":"[^"]+"/g, '"run_id":"x"')
    .replace(/_pipeline_[^"]+\.log/g, "_pipeline_<time>.log")
    .replace(/after \d+ ms/g, "after N ms")
    .split("\n");
}

/**
 * A log's lines as exec guarantees them: the same lines, each source in its own order. The command's stdout, its stderr
 * and the records file reach exec through three channels read side by side, so where a record lands among output lines
 * depends on when exec read it (docs/protocol.md); within one channel the order is kept.
 */
function bySource(lines: string[]): Record<string, string[]> {
  const of = (stream: string | undefined) => lines.filter((l) => l !== "" && (JSON.parse(l) as { stream?: string }).stream === stream);
  return { all: [...lines].sort(), stdout: of("stdout"), stderr: of("stderr"), rest: of(undefined) };
}

const SPAN_VARYING = new Set([
  "process.pid",
  "stagetrace.resource.cpu_user_ms",
  "stagetrace.resource.cpu_system_ms",
  "stagetrace.resource.peak_rss_mb",
  "cicd.pipeline.run.id",
  "cicd.pipeline.task.run.id",
]);

/** What the backend got of a run's stage spans, masked the same way. */
function spansOf(traceId: string, run: string): unknown[] {
  const spans = receiver.spans().filter((s: ReadableSpan) => s.spanContext().traceId === traceId);
  const runSpan = spans.find((s) => s.name.startsWith("RUN "))!;
  return spans
    .filter((s) => s.name.startsWith("stage "))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => ({
      name: s.name,
      kind: s.kind,
      parentIsRun: s.parentSpanContext?.spanId === runSpan.spanContext().spanId,
      status: s.status,
      attributes: masked(Object.fromEntries(Object.entries(s.attributes).map(([k, v]) => [k, SPAN_VARYING.has(k) ? "<varies>" : v])), run),
      events: s.events.map((e) => ({ name: e.name, attributes: masked(e.attributes, run) })),
      resource: maskedResource(s.resource.attributes),
    }));
}

/** A resource's attributes with the pid masked: the stage process's, which differs between runs. */
function maskedResource(attributes: Record<string, unknown>): Record<string, unknown> {
  return { ...attributes, "process.pid": typeof attributes["process.pid"] === "number" ? "<pid>" : attributes["process.pid"] };
}

/** The resources the backend got a run's stage log records and heartbeats on, by stage, masked. */
function signalResources(traceId: string, manifests: Record<string, { process: { pid: number } }>) {
  const byPid = new Map(Object.entries(manifests).map(([stage, m]) => [m.process.pid, stage]));
  const logs = receiver.logRecords().filter((l) => l.traceId === traceId && l.attributes["cicd.pipeline.task.name"] !== undefined);
  const beats = receiver.metricPoints().filter((p) => p.name === "stagetrace.stage.active");
  const of = (resources: Record<string, unknown>[]) => {
    const out: Record<string, unknown[]> = {};
    for (const r of resources) {
      const stage = byPid.get(r["process.pid"] as number);
      if (stage === undefined) continue;
      const list = (out[stage] ??= []);
      const m = JSON.stringify(maskedResource(r));
      if (!list.includes(m)) list.push(m);
    }
    return out;
  };
  return { logs: of(logs.map((l) => l.resourceAttributes)), beats: of(beats.map((b) => b.resourceAttributes)) };
}

/** A pipeline run through the agent and run in-process, once the receiver has the `stages` stage spans of each. */
async function bothWays(pipelineOf: (inProcess: boolean) => Promise<Run>, stages: number): Promise<[Run, Run]> {
  const agent = await pipelineOf(false);
  const alone = await pipelineOf(true);
  await receiver.waitFor((r) => {
    const names = (t: string) => r.spans().filter((s) => s.spanContext().traceId === t && s.name.startsWith("stage ")).length;
    return names(agent.traceId) === stages && names(alone.traceId) === stages;
  }, 20_000);
  return [agent, alone];
}

describe("a stage through the run's agent and the same stage in-process", () => {
  let agent: Run;
  let alone: Run;
  beforeAll(async () => {
    [agent, alone] = await bothWays(pipeline, 2);
  });

  it("both runs ran both stages, and nothing was left in the spool", () => {
    for (const r of [agent, alone]) {
      expect(r.code, r.stderr).toBe(0);
      expect(readJson(join(r.dir, "01_good", "manifest.json")).status).toBe("success");
      expect(readJson(join(r.dir, "02_bad", "manifest.json")).status).toBe("failed");
    }
    expect(existsSync(join(agent.dir, ".stagetrace-agent"))).toBe(false);
    // The run's summary of the failed stage, and nothing else, on stderr in both.
    expect(maskedText(agent.stderr, agent.root)).toEqual(maskedText(alone.stderr, alone.root));
    expect(agent.stderr).toMatch(/stage 02 bad: failed: the body gave up/);
  });

  it("write the same manifest.json, but for ids, times, pids and resource figures", () => {
    for (const stage of ["01_good", "02_bad"]) {
      const a = readJson(join(agent.dir, stage, "manifest.json"));
      const b = readJson(join(alone.dir, stage, "manifest.json"));
      expect(masked(a, agent.root)).toEqual(masked(b, alone.root));
    }
  });

  it("the manifest names the stage's process, not the agent's", () => {
    const m = readJson(join(agent.dir, "01_good", "manifest.json"));
    const lines = readFileSync(join(agent.dir, "01_good", "stage.log"), "utf8")
      .split("\n")
      .filter(Boolean);
    const pids = new Set(lines.map((l) => (JSON.parse(l) as { pid: number }).pid));
    expect([...pids]).toEqual([m.process.pid]);
    expect(m.process.command_args).toEqual([process.execPath, STAGE]);
    expect(m.resources.cpu_user_ms).toBeGreaterThan(0);
  });

  it("write the same stage.log and pipeline log, line by line", () => {
    for (const stage of ["01_good", "02_bad"]) {
      expect(maskedLines(join(agent.dir, stage, "stage.log"), agent.root)).toEqual(
        maskedLines(join(alone.dir, stage, "stage.log"), alone.root),
      );
    }
    expect(maskedLines(pipelineLogOf(agent.dir), agent.root)).toEqual(maskedLines(pipelineLogOf(alone.dir), alone.root));
    // The secret the stage named is censored in both.
    expect(readFileSync(join(agent.dir, "01_good", "stage.log"), "utf8")).not.toContain("s3cr3t-token-value");
  });

  it("send the same spans to the backend, under the ids the stage's logs carry", () => {
    expect(spansOf(agent.traceId, agent.root)).toEqual(spansOf(alone.traceId, alone.root));
    const m = readJson(join(agent.dir, "01_good", "manifest.json"));
    const span = receiver.spans().find((s) => s.spanContext().spanId === m.trace.span_id);
    expect(span?.name).toBe("stage good");
    const line = JSON.parse(readFileSync(join(agent.dir, "01_good", "stage.log"), "utf8").split("\n")[1]!) as { span_id: string };
    expect(line.span_id).toBe(m.trace.span_id);
  });

  it("name the stage's own process and service on its spans, log records and heartbeats, not the agent's", async () => {
    const manifests = (r: Run) => ({
      good: readJson(join(r.dir, "01_good", "manifest.json")),
      bad: readJson(join(r.dir, "02_bad", "manifest.json")),
    });
    await receiver.waitFor(() => {
      const got = (r: Run) => signalResources(r.traceId, manifests(r));
      return [agent, alone].every((r) => Object.keys(got(r).logs).length === 2 && Object.keys(got(r).beats).length === 2);
    }, 20_000);
    const agentSide = signalResources(agent.traceId, manifests(agent));
    expect(agentSide).toEqual(signalResources(alone.traceId, manifests(alone)));
    for (const signal of [agentSide.logs, agentSide.beats]) {
      for (const stage of ["good", "bad"]) {
        expect(signal[stage]).toHaveLength(1);
        const r = JSON.parse(signal[stage]![0] as string) as Record<string, unknown>;
        expect(r).toMatchObject({ "service.name": "subtitles", team: "media", "process.pid": "<pid>" });
        expect(r["process.command_args"]).toEqual([process.execPath, STAGE]);
      }
    }
    // No heartbeat of these stages went out on another process's resource (the agent's), however late.
    const stagePids = new Set([agent, alone].flatMap((r) => Object.values(manifests(r)).map((m) => m.process.pid)));
    const strays = receiver
      .metricPoints()
      .filter((p) => ["good", "bad"].includes(p.attributes["cicd.pipeline.task.name"] as string))
      .filter((p) => !stagePids.has(p.resourceAttributes["process.pid"] as number));
    expect(strays).toEqual([]);
    const span = receiver.spans().find((s) => s.spanContext().spanId === manifests(agent).good.trace.span_id)!;
    expect(span.resource.attributes).toMatchObject({
      "service.name": "subtitles",
      team: "media",
      "process.pid": manifests(agent).good.process.pid,
    });
    expect(span.attributes["process.pid"]).toBeUndefined();
  });
});

/**
 * `stagetrace run` over three `stagetrace exec` stages: one that prints, reports
 * records of its own and writes its declared output; one whose command exits 3;
 * one whose command dies of SIGSEGV. `inProcess` takes the agent away from them.
 * Each command lists the agent's spool while it runs (in `spool-NAME.txt`).
 */
async function execPipeline(inProcess: boolean): Promise<Run> {
  const dir = tempDir();
  const exec = (stage: string, flags: string, body: string) =>
    `"${process.execPath}" "${CLI}" exec --stage ${stage} ${flags} -- sh -c '${body}'`;
  const spool = (stage: string) => `ls "$STAGETRACE_AGENT" > "${dir}/spool-${stage}.txt" 2>/dev/null;`;
  const record = (json: string) => `printf "%s\\n" '"'"'${json}'"'"' >> "$STAGETRACE_RECORDS";`;
  return runPipeline(
    dir,
    inProcess,
    "same-exec",
    ["talk", "fail", "crash", "hashed"],
    [
      exec(
        "talk",
        "--output out.txt:text --config model=large --input s3://bucket/in.wav:audio",
        [
          spool("talk"),
          "echo hello from stdout;",
          "echo a warning on stderr >&2;",
          record('{"v":1,"record":"log","level":"warn","message":"said by the command"}'),
          record('{"v":1,"record":"output","path":"s3://bucket/extra.json","file_type":"json"}'),
          'echo done > "$STAGE_DIR/out.txt"',
        ].join(" "),
      ),
      exec("fail", "", `${spool("fail")} echo about to fail; echo "ERROR: no segments" >&2; exit 3`) + " || true",
      exec("crash", "", `${spool("crash")} kill -SEGV $$`) + " || true",
      // A local input is hashed before the command starts: exec keeps this stage in-process.
      `echo audio > "${dir}/in.wav"`,
      exec("hashed", `--input "${dir}/in.wav":audio`, `${spool("hashed")} echo read the input`),
    ],
  );
}

describe("a `stagetrace exec` stage through the run's agent and the same stage with exec's own telemetry", () => {
  const STAGES = ["01_talk", "02_fail", "03_crash", "04_hashed"];
  let agent: Run;
  let alone: Run;
  beforeAll(async () => {
    [agent, alone] = await bothWays(execPipeline, STAGES.length);
  });

  it("ran every stage in both, with the outcomes the commands had; under the agent, exec's stage was in its spool", () => {
    for (const r of [agent, alone]) {
      expect(r.code, r.stderr).toBe(0);
      const status = (s: string) => readJson(join(r.dir, s, "manifest.json")).status;
      expect(STAGES.map(status)).toEqual(["success", "failed", "failed", "success"]);
    }
    for (const [i, stage] of ["talk", "fail", "crash"].entries()) {
      const pid = readJson(join(agent.dir, STAGES[i]!, "manifest.json")).process.pid as number;
      expect(readFileSync(join(agent.root, `spool-${stage}.txt`), "utf8")).toMatch(new RegExp(`^${pid}-[0-9a-f]+\\.jsonl$`, "m"));
      expect(
        existsSync(join(alone.root, `spool-${stage}.txt`)) && readFileSync(join(alone.root, `spool-${stage}.txt`), "utf8"),
      ).toBeFalsy();
    }
    // The stage with a local input stayed in exec's process: its spool held no file of exec's, and the input has its hash.
    const hashed = readJson(join(agent.dir, "04_hashed", "manifest.json"));
    expect(readFileSync(join(agent.root, "spool-hashed.txt"), "utf8")).not.toMatch(new RegExp(`^${hashed.process.pid}-`, "m"));
    expect(hashed.inputs[0].hash).toMatch(/^[0-9a-f]{16,}$/);
    expect(existsSync(join(agent.dir, ".stagetrace-agent"))).toBe(false);
    expect(maskedText(agent.stderr, agent.root)).toEqual(maskedText(alone.stderr, alone.root));
  });

  it("write the same manifest.json: the command's line, exit code, signal, records and files", () => {
    for (const stage of STAGES) {
      const a = readJson(join(agent.dir, stage, "manifest.json"));
      const b = readJson(join(alone.dir, stage, "manifest.json"));
      // The command's resources are sampled while it runs: a command this short may end before its peak RSS is read.
      for (const m of [a, b]) {
        expect(m.resources.wall_time_ms).toBeGreaterThanOrEqual(0);
        delete m.resources;
      }
      expect(masked(a, agent.root)).toEqual(masked(b, alone.root));
    }
    const talk = readJson(join(agent.dir, "01_talk", "manifest.json"));
    expect(talk.process.command_args[0]).toBe("sh");
    expect(talk.outputs.map((o: { path: string }) => o.path)).toEqual(["s3://bucket/extra.json", join(agent.dir, "01_talk", "out.txt")]);
    expect(talk.config).toEqual({ model: "large" });
    expect(readJson(join(agent.dir, "02_fail", "manifest.json")).status_reason).toBe("ERROR: no segments (command exited with code 3)");
  });

  it("write the same stage.log and pipeline log, each source in its order: the command's output and records, exec's own lines", () => {
    for (const stage of STAGES) {
      expect(bySource(maskedLines(join(agent.dir, stage, "stage.log"), agent.root))).toEqual(
        bySource(maskedLines(join(alone.dir, stage, "stage.log"), alone.root)),
      );
    }
    const talk = readFileSync(join(agent.dir, "01_talk", "stage.log"), "utf8");
    for (const text of ["hello from stdout", "a warning on stderr", "said by the command", "running sh -c"]) expect(talk).toContain(text);
    // exec's own lines and the records, in order: started, the command line, the record, finished.
    expect(bySource(maskedLines(join(agent.dir, "01_talk", "stage.log"), agent.root)).rest!.map((l) => JSON.parse(l).msg)).toEqual([
      "stage talk started",
      expect.stringMatching(/^running sh -c /),
      "said by the command",
      "stage talk finished",
    ]);
    expect(bySource(maskedLines(pipelineLogOf(agent.dir), agent.root))).toEqual(
      bySource(maskedLines(pipelineLogOf(alone.dir), alone.root)),
    );
  });

  it("send the same spans to the backend, the command's exit code and signal on them", () => {
    // Exec's own command line, on the resource, holds the test's directory; the command's resources are sampled (above).
    const of = (r: Run) =>
      (
        JSON.parse(JSON.stringify(spansOf(r.traceId, r.root)).split(r.root).join("<root>")) as {
          name: string;
          attributes: Record<string, unknown>;
        }[]
      ).map((span) => {
        delete span.attributes["stagetrace.resource.wall_time_ms"];
        delete span.attributes["stagetrace.resource.peak_rss_mb"];
        return span;
      });
    const a = of(agent);
    expect(a).toEqual(of(alone));
    const byName = Object.fromEntries(a.map((s) => [s.name, s.attributes]));
    expect(byName["stage fail"]).toMatchObject({ "process.exit.code": 3 });
    expect(byName["stage crash"]).toMatchObject({ "stagetrace.process.signal": "SIGSEGV" });
    expect(byName["stage talk"]).toMatchObject({ "process.exit.code": 0 });
  });
});
