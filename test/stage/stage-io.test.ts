import { SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { initTelemetry, manifestFromSpan, runStage, spanFromManifest, StageIO, StageManifest, StagetraceError } from "../../src/index.js";
import { assertValidManifest } from "../support/schema.js";
import { allFiles, pipelineLogOf, readJson, readLogLines, tempDir } from "../support/tmp.js";

const spans = new InMemorySpanExporter();
beforeAll(() => {
  initTelemetry({ spanProcessors: [new SimpleSpanProcessor(spans)] });
});

let run: string;
beforeEach(() => {
  run = tempDir();
  spans.reset();
});

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const stageSpan = (name: string) => {
  const found = spans.getFinishedSpans().filter((s) => s.name === `stage ${name}`);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe("dual logging", () => {
  it("sends DEBUG+ to stage.log and INFO+ to the run's pipeline log, with trace ids on every line", async () => {
    const io = new StageIO("asr", { outputBase: run, stages: ["demux", "asr"] });
    const log = io.getStageLogger("debug");
    log.debug("only in the stage log");
    log.info("in both logs");
    log.warn("a warning");
    await io.finalize("success");

    const stageLines = readLogLines(join(run, "02_asr", "stage.log"));
    const pipelineLines = readLogLines(pipelineLogOf(run));
    const ctx = io.span.spanContext();
    expect(stageLines.map((l) => l.msg)).toEqual([
      "stage asr started",
      "only in the stage log",
      "in both logs",
      "a warning",
      "stage asr finished",
    ]);
    expect(pipelineLines.map((l) => l.msg)).toEqual(["stage asr started", "in both logs", "a warning", "stage asr finished"]);
    expect(pipelineLines.some((l) => l.level === "DEBUG")).toBe(false);
    expect(stageLines.find((l) => l.msg === "only in the stage log").level).toBe("DEBUG");
    for (const line of [...stageLines, ...pipelineLines]) {
      expect(line).toMatchObject({ trace_id: ctx.traceId, span_id: ctx.spanId, trace_flags: 1, stage: "asr" });
    }
    // grep-able levels, as the seed's checks use them
    expect(readFileSync(join(run, "02_asr", "stage.log"), "utf8")).toContain('"level":"DEBUG"');
  });

  it("uses one pipeline log for every stage of a run, and the same logger on every call", async () => {
    await runStage("a", (io) => io.getStageLogger().info("from a"), { outputBase: run });
    await runStage(
      "b",
      (io) => {
        expect(io.getStageLogger()).toBe(io.getStageLogger("debug"));
        io.getStageLogger().info("from b");
      },
      { outputBase: run },
    );
    const lines = readLogLines(pipelineLogOf(run));
    expect(lines.filter((l) => l.msg.startsWith("from ")).map((l) => [l.stage, l.msg])).toEqual([
      ["a", "from a"],
      ["b", "from b"],
    ]);
  });

  it("logs a child span's ids when one is active inside the stage", async () => {
    await runStage(
      "child",
      async (io) => {
        const tracer = trace.getTracer("test");
        await tracer.startActiveSpan("work", async (span) => {
          io.getStageLogger().info("inside work");
          span.end();
        });
      },
      { outputBase: run },
    );
    const work = spans.getFinishedSpans().find((s) => s.name === "work")!;
    const stage = stageSpan("child");
    expect(work.parentSpanContext?.spanId).toBe(stage.spanContext().spanId);
    const line = readLogLines(join(run, "child", "stage.log")).find((l) => l.msg === "inside work");
    expect(line).toMatchObject({ trace_id: stage.spanContext().traceId, span_id: work.spanContext().spanId });
  });
});

describe("manifest generation and I/O tracking", () => {
  it("writes a schema-valid manifest whose files match what is on disk", async () => {
    const code = await runStage(
      "asr",
      async (io) => {
        mkdirSync(join(run, "01_demux"), { recursive: true });
        const audio = join(run, "01_demux", "audio.wav");
        writeFileSync(audio, Buffer.alloc(3 * 1024 * 1024, 7)); // large enough to be hashed off the event loop
        expect(io.getInputPath("audio.wav", { fromStage: "demux" })).toBe(audio);
        io.trackInput(audio, "audio", { format: "wav", sampleRate: 48000 });
        const out = io.saveJson({ segments: [1, 2] }, "transcript.json");
        io.trackOutput(out, "transcript", { segments: 2 });
        const cache = join(io.stageDir, ".cache", "model.bin");
        mkdirSync(join(io.stageDir, ".cache"));
        writeFileSync(cache, "weights");
        io.trackIntermediate(cache, { retained: true, reason: "model cache" });
        io.addConfig("model", "large-v2");
        io.setConfig({ device: "cuda", batchSize: 16, language: null, opts: { beam: 5 } });
        io.setResources({ gpuUsed: false });
      },
      { outputBase: run, stages: ["demux", "asr"] },
    );
    expect(code).toBe(0);
    const manifest = readJson(join(run, "02_asr", "manifest.json"));
    assertValidManifest(manifest);
    expect(manifest).toMatchObject({
      stage: "asr",
      stage_number: 2,
      status: "success",
      config: { model: "large-v2", device: "cuda", batchSize: 16, language: null, "opts.beam": 5 },
      resources: { gpuUsed: false },
    });
    const audio = join(run, "01_demux", "audio.wav");
    expect(manifest.inputs).toEqual([
      expect.objectContaining({
        path: audio,
        type: "audio",
        size: 3 * 1024 * 1024,
        hash: sha256(audio),
        hash_algorithm: "sha256",
        exists: true,
        from_stage: "demux",
        metadata: { format: "wav", sampleRate: 48000 },
      }),
    ]);
    const out = join(run, "02_asr", "transcript.json");
    expect(manifest.outputs[0]).toMatchObject({ path: out, size: readFileSync(out).length, hash: sha256(out), metadata: { segments: 2 } });
    expect(manifest.intermediate_files[0]).toMatchObject({ retained: true, reason: "model cache", kind: "file" });
    expect(manifest.trace.trace_id).toBe(stageSpan("asr").spanContext().traceId);
  });

  it("records a missing file with exists: false and a warning, without failing the stage", async () => {
    const code = await runStage("s", (io) => io.trackInput(join(run, "nope.json"), "json"), { outputBase: run });
    expect(code).toBe(0);
    const m = readJson(join(run, "s", "manifest.json"));
    assertValidManifest(m);
    expect(m.inputs[0]).toMatchObject({ exists: false, kind: "missing", size: null, hash: null });
    expect(m.warnings[0].message).toContain("does not exist");
  });

  it("keeps every one of 1,000 tracked files, beyond OpenTelemetry's default 128 events", async () => {
    const dir = join(run, "many");
    mkdirSync(dir);
    await runStage(
      "many",
      (io) => {
        for (let i = 0; i < 1000; i++) {
          const f = join(dir, `f${i}.txt`);
          writeFileSync(f, String(i));
          io.trackOutput(f, "text");
        }
      },
      { outputBase: run },
    );
    const m = readJson(join(run, "many", "manifest.json"));
    assertValidManifest(m);
    expect(m.outputs).toHaveLength(1000);
    expect(m.outputs[999]).toMatchObject({ name: "f999.txt", size: 3 });
    expect(m.telemetry.events_omitted).toBe(0);
  });

  it("puts the stage number in the directory from the stage list, and a bare name without one", async () => {
    await runStage("tmdb", () => {}, { outputBase: run, stages: ["demux", "tmdb"] });
    await runStage("loose", () => {}, { outputBase: run });
    await runStage("fixed", () => {}, { outputBase: run, stageNumber: 7 });
    expect(existsSync(join(run, "02_tmdb", "manifest.json"))).toBe(true);
    expect(existsSync(join(run, "loose", "manifest.json"))).toBe(true);
    expect(existsSync(join(run, "07_fixed", "manifest.json"))).toBe(true);
  });

  it("reads the stage list from stagetrace.json in the run directory", async () => {
    writeFileSync(join(run, "stagetrace.json"), JSON.stringify({ stages: ["x", "y", "z"] }));
    const io = new StageIO("z", { outputBase: run });
    expect(io.stageNumber).toBe(3);
    expect(io.getInputPath("in.json")).toBe(join(run, "02_y", "in.json")); // previous stage by default
    await io.finalize();
  });

  it("does not write a manifest when enableManifest is false", async () => {
    await runStage("quiet", () => {}, { outputBase: run, enableManifest: false });
    expect(existsSync(join(run, "quiet", "manifest.json"))).toBe(false);
    expect(existsSync(join(run, "quiet", "stage.log"))).toBe(true);
  });
});

describe("errors, statuses and finalize", () => {
  it("records a thrown error: failed status, type/message/stack, span status ERROR with an exception event", async () => {
    const code = await runStage(
      "boom",
      () => {
        throw new RangeError("decode failed");
      },
      { outputBase: run },
    );
    expect(code).toBe(1);
    const m = readJson(join(run, "boom", "manifest.json"));
    assertValidManifest(m);
    expect(m.status).toBe("failed");
    expect(m.status_reason).toBe("decode failed");
    expect(m.errors).toHaveLength(1);
    expect(m.errors[0]).toMatchObject({ type: "RangeError", message: "decode failed" });
    expect(m.errors[0].stack).toContain("RangeError: decode failed");
    const span = stageSpan("boom");
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes["error.type"]).toBe("RangeError");
    expect(span.attributes["cicd.pipeline.task.run.result"]).toBe("failure");
    const exception = span.events.find((e) => e.name === "exception")!;
    expect(exception.attributes).toMatchObject({ "exception.type": "RangeError", "exception.message": "decode failed" });
    expect(String(exception.attributes!["exception.stacktrace"])).toContain("RangeError");
    const errLine = readLogLines(pipelineLogOf(run)).find((l) => l.level === "ERROR");
    expect(errLine.msg).toContain("decode failed");
  });

  it("records skipped with its reason, and a body's own finalize stands", async () => {
    const code = await runStage(
      "optional",
      async (io) => {
        await io.finalize("skipped", { reason: "Feature flag disabled" });
      },
      { outputBase: run },
    );
    expect(code).toBe(0);
    const m = readJson(join(run, "optional", "manifest.json"));
    expect(m).toMatchObject({ status: "skipped", status_reason: "Feature flag disabled" });
    expect(stageSpan("optional").attributes["cicd.pipeline.task.run.result"]).toBe("skip");
  });

  it("finalizes a runStage body that returns without finalizing as success", async () => {
    expect(await runStage("auto", () => {}, { outputBase: run })).toBe(0);
    expect(readJson(join(run, "auto", "manifest.json")).status).toBe("success");
  });

  it("keeps the first status when finalize is called twice, and ignores tracking after finalize", async () => {
    const io = new StageIO("twice", { outputBase: run });
    await io.finalize("failed", { error: "first" });
    await io.finalize("success");
    io.trackOutput(join(run, "late.txt"));
    io.addWarning("late");
    const m = readJson(join(run, "twice", "manifest.json"));
    assertValidManifest(m);
    expect(m.status).toBe("failed");
    expect(m.errors.map((e: { message: string }) => e.message)).toEqual(["first"]);
    expect(m.outputs).toEqual([]);
  });

  it("finalize(status, { saveManifest: false }) leaves no manifest.json, and the span still ends", async () => {
    const io = new StageIO("nomanifest", { outputBase: run });
    expect(existsSync(join(run, "nomanifest", "manifest.json"))).toBe(true); // the running manifest
    await io.finalize("success", { saveManifest: false });
    expect(existsSync(join(run, "nomanifest", "manifest.json"))).toBe(false);
    expect(existsSync(join(run, "nomanifest", "stage.log"))).toBe(true);
    const span = stageSpan("nomanifest");
    expect(span.attributes["stagetrace.stage.status"]).toBe("success");
    expect(span.attributes["stagetrace.manifest.disabled"]).toBe(true);
  });

  it("records finalize's extra fields under extra in the manifest and as stagetrace.extra.<key> on the span", async () => {
    const io = new StageIO("kwargs", { outputBase: run });
    await io.finalize("skipped", {
      reason: "no input",
      segments: 12,
      model: { name: "large-v2", device: "cuda" },
      languages: ["hi", "en"],
      note: null,
      api_token: "sekrit-token",
    });
    const m = readJson(join(run, "kwargs", "manifest.json"));
    assertValidManifest(m);
    expect(m.status_reason).toBe("no input");
    expect(m.extra).toEqual({
      api_token: "[REDACTED]",
      languages: ["hi", "en"],
      "model.device": "cuda",
      "model.name": "large-v2",
      note: null,
      segments: 12,
    });
    const span = stageSpan("kwargs");
    expect(span.attributes).toMatchObject({
      "stagetrace.extra.segments": 12,
      "stagetrace.extra.model.name": "large-v2",
      "stagetrace.extra.api_token": "[REDACTED]",
    });
    expect(Object.keys(span.attributes).some((k) => k.startsWith("stagetrace.extra.reason"))).toBe(false);
    // The manifest rebuilt from the span alone, and from the span rebuilt from the manifest, is the same.
    expect(manifestFromSpan(span).data.extra).toEqual(m.extra);
    expect(manifestFromSpan(spanFromManifest(m, join(run, "kwargs"))).data.extra).toEqual(m.extra);
  });

  it("rejects an unknown status with a clear error", () => {
    const io = new StageIO("bad-status", { outputBase: run });
    expect(() => io.finalize("done" as never)).toThrow(/unknown stage status "done"/);
    return io.finalize();
  });
});

describe("bad input", () => {
  it.each([["../../x"], ["/etc/passwd"], [""]])("getOutputPath(%j) is rejected", async (name) => {
    const io = new StageIO("paths", { outputBase: run });
    expect(() => io.getOutputPath(name)).toThrow(StagetraceError);
    await io.finalize();
  });

  it.each([["a/b"], [".."], [""], ["bad\nname"]])("stage name %j is rejected", (name) => {
    expect(() => new StageIO(name, { outputBase: run })).toThrow(/stage name/);
  });

  it("records values JSON cannot hold without crashing", async () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    await runStage(
      "values",
      (io) => {
        io.setConfig({
          big: 10n ** 30n,
          when: new Date("2026-01-02T03:04:05Z"),
          fn: function helper() {},
          sym: Symbol("s"),
          buf: Buffer.from("abc"),
          circular,
          huge: "x".repeat(10_000_000),
          list: [1, "two", { three: 3 }],
        });
      },
      { outputBase: run },
    );
    const m = readJson(join(run, "values", "manifest.json"));
    assertValidManifest(m);
    expect(m.config).toMatchObject({
      big: "1000000000000000000000000000000",
      when: "2026-01-02T03:04:05.000Z",
      fn: "[function helper]",
      sym: "Symbol(s)",
      buf: "[3 bytes]",
      "circular.a": 1,
      "circular.self": "[Circular]",
      list: '[1,"two",{"three":3}]',
    });
    expect(m.config.huge.length).toBeLessThan(5000);
    expect(m.config.huge).toMatch(/…\[truncated 9995904 chars\]$/);
  });

  it("redacts credentials from config, metadata, warnings and log lines", async () => {
    const secret = "tmdb-3f9a8c7e6d5b4a39";
    await runStage(
      "secrets",
      (io) => {
        io.setConfig({ tmdbApiKey: secret, db: { password: secret }, model: "x" });
        io.trackOutput(io.saveJson({}, "o.json"), "json", { token: secret });
        io.addWarning(`the key ${secret} is about to expire`);
        io.getStageLogger().info(`calling with ${secret}`);
        io.getStageLogger().info({ authorization: `Bearer ${secret}` }, "headers");
      },
      { outputBase: run },
    );
    for (const file of allFiles(run)) expect(readFileSync(file, "utf8"), file).not.toContain(secret);
    const m = readJson(join(run, "secrets", "manifest.json"));
    expect(m.config).toMatchObject({ tmdbApiKey: "[REDACTED]", "db.password": "[REDACTED]", model: "x" });
    const attrs = JSON.stringify(stageSpan("secrets").attributes) + JSON.stringify(stageSpan("secrets").events);
    expect(attrs).not.toContain(secret);
  });
});

describe("the seed's old-style API", () => {
  it("StageManifest works on its own: add, finalize, save, load", async () => {
    const file = join(run, "in.txt");
    writeFileSync(file, "data");
    const m = new StageManifest("legacy", 3);
    m.addInput(file, "text", { lines: 1 });
    m.addOutput(join(run, "missing.txt"));
    m.addIntermediate(file, true, "kept");
    m.setConfig({ model: "x", apiKey: "sekrit-value" });
    m.addWarning("hmm");
    m.addError("it broke", new Error("it broke"));
    m.finalize("failed", { reason: "it broke", retries: 3 });
    expect(m.toDict().extra).toEqual({ retries: 3 });
    const path = join(run, "legacy.json");
    m.save(path);
    const loaded = StageManifest.fromFile(path);
    assertValidManifest(loaded.toDict());
    expect(loaded.hasErrors()).toBe(true);
    expect(loaded.hasWarnings()).toBe(true);
    expect(loaded.getInputs()[0]).toMatchObject({ hash: sha256(file), metadata: { lines: 1 } });
    expect(loaded.getOutputs()[0]).toMatchObject({ exists: false });
    expect(loaded.getIntermediateFiles()[0]).toMatchObject({ retained: true, reason: "kept" });
    expect(loaded.toDict().config).toEqual({ apiKey: "[REDACTED]", model: "x" });
    expect(new StageManifest("other").load(path).status).toBe("failed");
  });

  it("StageIO used as the seed's quick start does, with loadJson between stages", async () => {
    const first = new StageIO("previous_stage", { outputBase: run, stages: ["previous_stage", "example"] });
    first.trackOutput(first.saveJson({ n: 1 }, "input.json"), "json");
    await first.finalize("success");

    const io = new StageIO("example", { outputBase: run, stages: ["previous_stage", "example"] });
    const logger = io.getStageLogger();
    logger.info("Starting example stage");
    const input = io.getInputPath("input.json", { fromStage: "previous_stage" });
    io.trackInput(input, "json", { description: "Input data" });
    const data = io.loadJson<{ n: number }>("input.json", { fromStage: "previous_stage" });
    const out = io.saveJson({ n: data.n + 1 }, "output.json");
    io.trackOutput(out, "json", { description: "Processed data" });
    const meta = io.saveMetadata({ source: "previous_stage" });
    expect(meta).toBe(join(run, "02_example", "metadata.json"));
    expect(readJson(meta)).toEqual({ source: "previous_stage" });
    await io.finalize("success");
    logger.info("Stage complete");

    const m = readJson(join(run, "02_example", "manifest.json"));
    assertValidManifest(m);
    expect(m.inputs[0]).toMatchObject({ from_stage: "previous_stage", metadata: { description: "Input data" } });
    expect(readJson(out)).toEqual({ n: 2 });
    expect(() => io.loadJson("nope.json")).toThrow(/cannot read .*nope\.json/);
  });
});

describe("hashing large files", () => {
  it("hashes a large input off the event loop: trackInput returns at once and the loop keeps turning", async () => {
    const big = join(run, "big.bin");
    const { openSync, ftruncateSync, closeSync } = await import("node:fs");
    const fd = openSync(big, "w");
    ftruncateSync(fd, 256 * 1024 * 1024); // sparse: no disk, but every byte is read and hashed
    closeSync(fd);
    const io = new StageIO("bighash", { outputBase: run });
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    io.trackInput(big, "binary");
    const turnsAfterTrack = turns;
    await io.finalize();
    clearInterval(ticker);
    expect(turnsAfterTrack).toBe(0); // trackInput did not wait for the hash
    // 64 chunks of 4 MiB: the loop got control between them (a synchronous hash gives at most one turn)
    expect(turns).toBeGreaterThan(10);
    const m = readJson(join(run, "bighash", "manifest.json"));
    const zeros = createHash("sha256");
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 256; i++) zeros.update(chunk);
    expect(m.inputs[0]).toMatchObject({ size: 256 * 1024 * 1024, hash: zeros.digest("hex") });
  });
});

describe("which config keys are secrets", () => {
  it.each([
    ["tmdbApiKey", true],
    ["api_key", true],
    ["DB_PASSWORD", true],
    ["db.pass", true],
    ["clientSecret", true],
    ["authorization", true],
    ["auth_header", true],
    ["refresh_token", true],
    ["credentials", true],
    ["bypass", false],
    ["author", false],
    ["max_tokens", false],
    ["tokenizer", false],
    ["passes", false],
    ["model", false],
  ])("%s → %s", async (key, secret) => {
    const { isSecretKey } = await import("../../src/values/redaction.js");
    expect(isSecretKey(key)).toBe(secret);
  });
});
