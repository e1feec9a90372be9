import { describe, expect, it } from "vitest";
import type { ManifestData } from "../../src/types.js";
import { assertValidManifest, validateManifest } from "../support/schema.js";

const manifest: ManifestData = {
  schema_version: "1.0",
  stage: "asr",
  stage_number: 6,
  status: "failed",
  status_reason: "model crashed on chunk 12",
  pipeline: { name: "subtitles", run_id: "run-2025-11-27T10-00-00Z", run_dir: "/data/out/job1/baseline/1" },
  trace: {
    trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
    span_id: "00f067aa0ba902b7",
    parent_span_id: "53995c3f42cd8ad8",
  },
  started_at: "2025-11-27T10:00:00.000Z",
  ended_at: "2025-11-27T10:02:03.456Z",
  duration_ms: 123456.789,
  inputs: [
    {
      path: "/data/out/job1/baseline/1/01_demux/audio.wav",
      name: "audio.wav",
      type: "audio",
      kind: "file",
      exists: true,
      size: 48_000_000,
      modified: "2025-11-27T09:59:58.120Z",
      hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      hash_algorithm: "sha256",
      from_stage: "demux",
      metadata: { format: "wav", sample_rate: 48000 },
    },
  ],
  outputs: [
    {
      path: "/data/out/job1/baseline/1/06_asr/transcript.json",
      name: "transcript.json",
      type: "transcript",
      kind: "missing",
      exists: false,
      size: null,
      modified: null,
      hash: null,
      hash_algorithm: null,
      from_stage: null,
      metadata: {},
    },
  ],
  intermediate_files: [
    {
      path: "/home/u/.cache/whisperx",
      name: "whisperx",
      type: "cache",
      kind: "directory",
      exists: true,
      size: 4096,
      modified: "2025-11-20T08:00:00+05:30",
      hash: null,
      hash_algorithm: "sha256",
      from_stage: null,
      metadata: {},
      retained: true,
      reason: "WhisperX model cache for future runs",
    },
  ],
  config: {
    model: "large-v2",
    batch_size: 16,
    fp16: true,
    api_key: null,
    languages: ["hi", "en"],
    thresholds: [0.5, 0.75],
    flags: [true, false],
    empty: [],
  },
  warnings: [{ message: "Low quality audio detected: 0.42", timestamp: "2025-11-27T10:00:05.000Z" }],
  errors: [
    {
      message: "Processing failed: CUDA out of memory",
      type: "RuntimeError",
      stack: "RuntimeError: CUDA out of memory\n    at transcribe (asr.ts:42:11)",
      timestamp: "2025-11-27T10:02:03.400Z",
    },
  ],
  resources: { cpu_percent: 87.5, memory_mb: 5120, gpu_used: true },
  extra: { model_version: "large-v2", segments: 1200 },
  process: { pid: 4242, hostname: "worker-3", command_args: ["node", "stages/asr.js", "--fast"], exit_code: 1 },
  logs: {
    stage_log: "/data/out/job1/baseline/1/06_asr/stage.log",
    pipeline_log: "/data/out/job1/baseline/1/logs/99_pipeline_20251127-100000.log",
  },
  telemetry: {
    endpoint: "http://127.0.0.1:4318/v1/traces",
    state: "final",
    exported: 3,
    dropped: 0,
    events_omitted: 0,
    log_records_exported: 0,
    log_records_dropped: 0,
  },
};

/** A copy of the manifest with the value at a JSON pointer set, or removed when `value` is `REMOVE`. */
const REMOVE = Symbol("remove");
function edited(pointer: string, value: unknown): unknown {
  const copy = structuredClone(manifest) as unknown as Record<string, unknown>;
  const keys = pointer.split("/").slice(1);
  const last = keys.pop()!;
  let target = copy;
  for (const key of keys) target = target[key] as Record<string, unknown>;
  if (value === REMOVE) delete target[last];
  else target[last] = value;
  return copy;
}

describe("manifest.schema.json", () => {
  it("accepts a complete manifest", () => {
    expect(validateManifest(manifest)).toEqual([]);
    expect(() => assertValidManifest(manifest)).not.toThrow();
  });

  it("accepts null in every nullable field and empty lists and maps", () => {
    const sparse: ManifestData = {
      ...manifest,
      stage_number: null,
      status: "skipped",
      status_reason: null,
      pipeline: { name: null, run_id: null, run_dir: "out/run-1" },
      trace: { ...manifest.trace, parent_span_id: null },
      duration_ms: 0,
      inputs: [],
      outputs: [],
      intermediate_files: [],
      config: {},
      warnings: [],
      errors: [{ message: "", type: "Error", stack: null, timestamp: "2025-11-27T10:00:00Z" }],
      resources: {},
      extra: {},
      process: { pid: null, hostname: null, command_args: [], exit_code: null },
      logs: { stage_log: null, pipeline_log: null },
      telemetry: {
        endpoint: null,
        state: "local",
        exported: 0,
        dropped: 0,
        events_omitted: 0,
        log_records_exported: 0,
        log_records_dropped: 0,
      },
    };
    expect(validateManifest(sparse)).toEqual([]);
  });

  it.each(["success", "failed", "skipped", "interrupted"])("accepts status %s", (status) => {
    expect(validateManifest(edited("/status", status))).toEqual([]);
  });

  it.each([
    { name: "missing status", pointer: "/status", value: REMOVE, path: "/", message: "must have required property 'status'" },
    { name: "unknown status", pointer: "/status", value: "done", path: "/status", message: "must be equal to one of the allowed values" },
    { name: "negative size", pointer: "/inputs/0/size", value: -1, path: "/inputs/0/size", message: "must be >= 0" },
    { name: "fractional size", pointer: "/inputs/0/size", value: 1.5, path: "/inputs/0/size", message: "must be integer" },
    {
      name: "short trace_id",
      pointer: "/trace/trace_id",
      value: "4bf92f3577b34da6",
      path: "/trace/trace_id",
      message: "must match pattern",
    },
    {
      name: "uppercase trace_id",
      pointer: "/trace/trace_id",
      value: "4BF92F3577B34DA6A3CE929D0E0E4736",
      path: "/trace/trace_id",
      message: "must match pattern",
    },
    {
      name: "all-zero trace_id",
      pointer: "/trace/trace_id",
      value: "0".repeat(32),
      path: "/trace/trace_id",
      message: "must match pattern",
    },
    { name: "bad span_id", pointer: "/trace/span_id", value: "xyz", path: "/trace/span_id", message: "must match pattern" },
    {
      name: "bad parent_span_id",
      pointer: "/trace/parent_span_id",
      value: "53995c3f42cd8ad",
      path: "/trace/parent_span_id",
      message: "must match pattern",
    },
    { name: "unknown top-level key", pointer: "/surplus", value: 1, path: "/", message: "must NOT have additional properties 'surplus'" },
    {
      name: "unknown nested key",
      pointer: "/telemetry/spans",
      value: 1,
      path: "/telemetry",
      message: "must NOT have additional properties 'spans'",
    },
    {
      name: "unknown file entry key",
      pointer: "/outputs/0/sha256",
      value: "ab",
      path: "/outputs/0",
      message: "must NOT have additional properties 'sha256'",
    },
    {
      name: "config value that is an object",
      pointer: "/config/x",
      value: { nested: 1 },
      path: "/config/x",
      message: "must match a schema in anyOf",
    },
    {
      name: "config array of mixed types",
      pointer: "/config/x",
      value: ["a", 1],
      path: "/config/x",
      message: "must match a schema in anyOf",
    },
    { name: "config array of objects", pointer: "/config/x", value: [{}], path: "/config/x", message: "must match a schema in anyOf" },
    {
      name: "metadata value that is an object",
      pointer: "/inputs/0/metadata/m",
      value: {},
      path: "/inputs/0/metadata/m",
      message: "must match a schema in anyOf",
    },
    {
      name: "resources value that is an object",
      pointer: "/resources/r",
      value: {},
      path: "/resources/r",
      message: "must match a schema in anyOf",
    },
    {
      name: "non-boolean retained",
      pointer: "/intermediate_files/0/retained",
      value: "yes",
      path: "/intermediate_files/0/retained",
      message: "must be boolean",
    },
    {
      name: "non-string reason",
      pointer: "/intermediate_files/0/reason",
      value: 3,
      path: "/intermediate_files/0/reason",
      message: "must be string",
    },
    {
      name: "unknown file kind",
      pointer: "/inputs/0/kind",
      value: "device",
      path: "/inputs/0/kind",
      message: "must be equal to one of the allowed values",
    },
    { name: "uppercase hash", pointer: "/inputs/0/hash", value: "ABCD", path: "/inputs/0/hash", message: "must match pattern" },
    { name: "odd-length hash", pointer: "/inputs/0/hash", value: "abc", path: "/inputs/0/hash", message: "must match pattern" },
    {
      name: "started_at not a date-time",
      pointer: "/started_at",
      value: "2025-11-27 10:00:00",
      path: "/started_at",
      message: 'must match format "date-time"',
    },
    {
      name: "ended_at without a time zone",
      pointer: "/ended_at",
      value: "2025-11-27T10:00:00",
      path: "/ended_at",
      message: "must match pattern",
    },
    {
      name: "modified on a day that does not exist",
      pointer: "/inputs/0/modified",
      value: "2025-02-29T00:00:00Z",
      path: "/inputs/0/modified",
      message: 'must match format "date-time"',
    },
    {
      name: "warning timestamp as a number",
      pointer: "/warnings/0/timestamp",
      value: 1764237605000,
      path: "/warnings/0/timestamp",
      message: "must be string",
    },
    {
      name: "error without stack",
      pointer: "/errors/0/stack",
      value: REMOVE,
      path: "/errors/0",
      message: "must have required property 'stack'",
    },
    { name: "negative duration", pointer: "/duration_ms", value: -0.5, path: "/duration_ms", message: "must be >= 0" },
    { name: "negative stage_number", pointer: "/stage_number", value: -1, path: "/stage_number", message: "must be >= 0" },
    { name: "fractional stage_number", pointer: "/stage_number", value: 1.5, path: "/stage_number", message: "must be integer" },
    {
      name: "schema_version without minor",
      pointer: "/schema_version",
      value: "1",
      path: "/schema_version",
      message: "must match pattern",
    },
    {
      name: "unknown telemetry state",
      pointer: "/telemetry/state",
      value: "sent",
      path: "/telemetry/state",
      message: "must be equal to one of the allowed values",
    },
    { name: "negative dropped count", pointer: "/telemetry/dropped", value: -1, path: "/telemetry/dropped", message: "must be >= 0" },
    {
      name: "fractional exported count",
      pointer: "/telemetry/exported",
      value: 0.5,
      path: "/telemetry/exported",
      message: "must be integer",
    },
    {
      name: "non-string command arg",
      pointer: "/process/command_args/1",
      value: 7,
      path: "/process/command_args/1",
      message: "must be string",
    },
  ])("rejects $name at $path", ({ pointer, value, path, message }) => {
    const problems = validateManifest(edited(pointer, value));
    expect(problems).not.toEqual([]);
    // Every problem points at the edited place, and one of them says what is wrong.
    for (const problem of problems) expect(problem.startsWith(`${path} `), problem).toBe(true);
    expect(
      problems.some((problem) => problem.startsWith(`${path} ${message}`)),
      problems.join("\n"),
    ).toBe(true);
  });

  it("reports a bad recorded value as one problem naming the allowed kinds", () => {
    expect(validateManifest(edited("/config/x", { nested: 1 }))).toEqual([
      "/config/x must match a schema in anyOf (must be string; must be number; must be boolean; must be null; must be array)",
    ]);
  });

  it("reports every problem at once", () => {
    const broken = structuredClone(manifest) as unknown as Record<string, Record<string, unknown>>;
    broken.trace!.trace_id = "nope";
    broken.telemetry!.dropped = -2;
    expect(validateManifest(broken)).toEqual([
      '/trace/trace_id must match pattern "^(?!0{32}$)[0-9a-f]{32}$"',
      "/telemetry/dropped must be >= 0",
    ]);
  });

  it("rejects what is not an object", () => {
    expect(validateManifest(null)).toEqual(["/ must be object"]);
    expect(validateManifest([])).toEqual(["/ must be object"]);
  });

  it("assertValidManifest throws with every problem listed", () => {
    const broken = edited("/inputs/0/size", -1) as Record<string, unknown>;
    delete broken.status;
    expect(() => assertValidManifest(broken)).toThrow(
      /2 problems[\s\S]*\/ must have required property 'status'[\s\S]*\/inputs\/0\/size must be >= 0/,
    );
  });
});
