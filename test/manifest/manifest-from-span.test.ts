import { SpanKind, SpanStatusCode, TraceFlags } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { manifestFromSpan, manifestTextFromSpan } from "../../src/manifest/manifest-from-span.js";
import { validateAgainstSchema } from "../../src/schema/validate.js";

// A stage span written out by hand, attribute by attribute, with the names the
// span contract (DESIGN.md) fixes: no StageIO, no SDK, no stagetrace constant.
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
const span: ReadableSpan = {
  name: "stage asr",
  kind: SpanKind.INTERNAL,
  spanContext: () => ({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: TraceFlags.SAMPLED }),
  parentSpanContext: { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "00f067aa0ba902b7", traceFlags: TraceFlags.SAMPLED },
  startTime: [T0, 0],
  endTime: [T0 + 2, 500_000_000],
  duration: [2, 500_000_000],
  ended: true,
  status: { code: SpanStatusCode.ERROR, message: "model not found" },
  attributes: {
    "cicd.pipeline.task.name": "asr",
    "cicd.pipeline.name": "subtitles",
    "cicd.pipeline.run.id": "run-7",
    "stagetrace.stage.number": 6,
    "stagetrace.stage.dir": "/runs/7/06_asr",
    "stagetrace.run.dir": "/runs/7",
    "stagetrace.stage.status": "failed",
    "stagetrace.stage.status_reason": "model not found",
    "stagetrace.stage.log": "/runs/7/06_asr/stage.log",
    "stagetrace.pipeline.log": "/runs/7/logs/99_pipeline.log",
    "stagetrace.manifest.schema_version": "1.0",
    // The command a stage run by `stagetrace exec` ran; the process's own is the resource's.
    "process.command_args": ["python", "asr.py"],
    "process.exit.code": 1,
    "stagetrace.config.model": "large-v3",
    "stagetrace.config.beam.size": 5,
    "stagetrace.resource.peak_rss_mb": 812,
    "stagetrace.extra.attempt": 2,
  },
  links: [],
  events: [
    {
      name: "stagetrace.file",
      time: [T0, 100_000_000],
      attributes: {
        "stagetrace.file.role": "input",
        "file.path": "/runs/7/01_demux/audio.wav",
        "file.name": "audio.wav",
        "stagetrace.file.type": "audio",
        "stagetrace.file.kind": "file",
        "stagetrace.file.exists": true,
        "file.size": 1024,
        "file.modified": "2026-01-01T00:00:00.000Z",
        "stagetrace.file.hash_algorithm": "sha256",
        "stagetrace.file.sha256": "ab".repeat(32),
        "stagetrace.file.from_stage": "demux",
        "stagetrace.file.meta.channels": 2,
      },
    },
    {
      name: "stagetrace.file",
      time: [T0, 200_000_000],
      attributes: {
        "stagetrace.file.role": "intermediate",
        "file.path": "/runs/7/06_asr/cache.bin",
        "file.name": "cache.bin",
        "stagetrace.file.type": "cache",
        "stagetrace.file.kind": "missing",
        "stagetrace.file.exists": false,
        "stagetrace.file.retained": false,
        "stagetrace.file.reason": "decoder state",
      },
    },
    { name: "stagetrace.warning", time: [T0 + 1, 0], attributes: { "stagetrace.warning.message": "low confidence" } },
    {
      name: "exception",
      time: [T0 + 2, 0],
      attributes: {
        "exception.type": "FileNotFoundError",
        "exception.message": "model not found",
        "exception.stacktrace": "Traceback ...",
      },
    },
  ],
  // The host and the process are the resource's.
  resource: resourceFromAttributes({
    "service.name": "subtitles",
    "host.name": "worker-3",
    "process.pid": 4242,
    "process.command_args": ["node", "/usr/bin/stagetrace", "exec", "--stage", "asr", "--", "python", "asr.py"],
  }),
  instrumentationScope: { name: "stagetrace" },
  droppedAttributesCount: 0,
  droppedEventsCount: 0,
  droppedLinksCount: 0,
};

describe("manifestFromSpan on a span built by hand", () => {
  const m = manifestFromSpan(span).toJSON();

  it("reads the stage, its run, its trace and its times from the span alone", () => {
    expect(m).toMatchObject({
      schema_version: "1.0",
      stage: "asr",
      stage_number: 6,
      status: "failed",
      status_reason: "model not found",
      pipeline: { name: "subtitles", run_id: "run-7", run_dir: "/runs/7" },
      trace: { trace_id: "0af7651916cd43dd8448eb211c80319c", span_id: "b7ad6b7169203331", parent_span_id: "00f067aa0ba902b7" },
      started_at: "2026-01-01T00:00:00.000000000Z",
      ended_at: "2026-01-01T00:00:02.500000000Z",
      duration_ms: 2500,
      process: { pid: 4242, hostname: "worker-3", command_args: ["python", "asr.py"], exit_code: 1 },
      logs: { stage_log: "/runs/7/06_asr/stage.log", pipeline_log: "/runs/7/logs/99_pipeline.log" },
    });
  });

  it("takes the host and pid from the resource, the command line from the resource when the span has none", () => {
    const { "process.command_args": _args, ...attributes } = span.attributes;
    const own = manifestFromSpan({ ...span, attributes }).toJSON();
    expect(own.process).toEqual({
      pid: 4242,
      hostname: "worker-3",
      command_args: ["node", "/usr/bin/stagetrace", "exec", "--stage", "asr", "--", "python", "asr.py"],
      exit_code: 1,
    });
  });

  it("reads host and pid from the span's attributes when its resource has none (spans exported before they moved there)", () => {
    const old = manifestFromSpan({
      ...span,
      attributes: { ...span.attributes, "process.pid": 77, "host.name": "gpu-2" },
      resource: resourceFromAttributes({ "service.name": "subtitles" }),
    }).toJSON();
    expect(old.process).toMatchObject({ pid: 77, hostname: "gpu-2", command_args: ["python", "asr.py"] });
  });

  it("turns file events into inputs and intermediates, and config, resources and extra into their sections", () => {
    expect(m.inputs).toEqual([
      expect.objectContaining({
        path: "/runs/7/01_demux/audio.wav",
        type: "audio",
        size: 1024,
        hash: "ab".repeat(32),
        hash_algorithm: "sha256",
        exists: true,
        from_stage: "demux",
        metadata: { channels: 2 },
      }),
    ]);
    expect(m.intermediate_files).toEqual([
      expect.objectContaining({ path: "/runs/7/06_asr/cache.bin", exists: false, retained: false, reason: "decoder state" }),
    ]);
    expect(m.outputs).toEqual([]);
    expect(m.config).toEqual({ model: "large-v3", "beam.size": 5 });
    expect(m.resources).toEqual({ peak_rss_mb: 812 });
    expect(m.extra).toEqual({ attempt: 2 });
  });

  it("turns warning and exception events into warnings and errors", () => {
    expect(m.warnings).toEqual([{ message: "low confidence", timestamp: "2026-01-01T00:00:01.000000000Z" }]);
    expect(m.errors).toEqual([
      { message: "model not found", type: "FileNotFoundError", stack: "Traceback ...", timestamp: "2026-01-01T00:00:02.000000000Z" },
    ]);
  });

  it("is a valid manifest, and its text in pieces is the same document", () => {
    expect(validateAgainstSchema("manifest", m)).toEqual([]);
    expect(JSON.parse([...manifestTextFromSpan(span, undefined, 1)].join(""))).toEqual(m);
  });
});
