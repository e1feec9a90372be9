import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { manifestFromSpan } from "../../src/index.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { assertValidManifest } from "../support/schema.js";
import { spawnStage } from "../support/spawn-stage.js";
import { readJson, readLogLines, tempDir } from "../support/tmp.js";

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

describe("OTLP export end to end", () => {
  it("sends the stage span with its file events and the log records, with the trace ids on disk", async () => {
    receiver = await startOtlpReceiver();
    const run = tempDir();
    const result = await spawnStage({
      OUTPUT_DIR: run,
      FIXTURE_STAGE: "asr",
      FIXTURE_LINES: "6",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: "subtitle-pipeline",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=ci,team=media",
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");

    const manifest = readJson(join(run, "asr", "manifest.json"));
    assertValidManifest(manifest);
    const traceId = manifest.trace.trace_id;
    // The process has exited, so everything it exported has arrived.
    const stageSpans = receiver.spans().filter((s) => s.name === "stage asr");
    expect(stageSpans).toHaveLength(1);
    const span = stageSpans[0]!;
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.attributes).toMatchObject({
      "cicd.pipeline.task.name": "asr",
      "cicd.pipeline.task.run.result": "success",
      "stagetrace.stage.status": "success",
      "stagetrace.config.model": "large-v2",
    });
    const fileEvents = span.events.filter((e) => e.name === "stagetrace.file");
    expect(fileEvents).toHaveLength(1);
    expect(fileEvents[0]!.attributes).toMatchObject({ "stagetrace.file.role": "output", "file.name": "out.txt" });
    expect(span.resource.attributes).toMatchObject({
      "service.name": "subtitle-pipeline",
      "deployment.environment.name": "ci",
      team: "media",
    });

    const logs = receiver.logRecords();
    const bodies = logs.map((l) => l.body);
    expect(bodies).toEqual(expect.arrayContaining(["stage asr started", "debug line 0", "info line 1", "stage asr finished"]));
    for (const record of logs) expect(record.traceId).toBe(traceId);
    const info = logs.find((l) => l.body === "info line 1")!;
    expect(info).toMatchObject({ severityNumber: 9, severityText: "INFO" });
    expect(logs.find((l) => l.body === "debug line 0")).toMatchObject({ severityNumber: 5, severityText: "DEBUG" });
    expect(info.resourceAttributes["service.name"]).toBe("subtitle-pipeline");

    expect(manifest.telemetry).toEqual({
      endpoint: `${receiver.url}/v1/traces`,
      state: "final",
      exported: 1,
      dropped: 0,
      events_omitted: 0,
      log_records_exported: 8,
      log_records_dropped: 0,
    });
  });

  it("rebuilds the same manifest from the span as it arrived over OTLP (manifestFromSpan)", async () => {
    receiver = await startOtlpReceiver();
    const run = tempDir();
    const result = await spawnStage({
      OUTPUT_DIR: run,
      FIXTURE_STAGE: "alignment",
      FIXTURE_FAIL: "alignment drifted",
      FIXTURE_SECRET: "s3cr3t-value-123",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    expect(result.code).toBe(1);
    const onDisk = readJson(join(run, "alignment", "manifest.json"));
    const span = receiver.spans().find((s) => s.name === "stage alignment")!;
    const rebuilt = manifestFromSpan(span).toDict();
    const { telemetry: _diskTelemetry, ...diskRest } = onDisk;
    const { telemetry: _rebuiltTelemetry, ...rebuiltRest } = rebuilt;
    expect(rebuiltRest).toEqual(diskRest);
    expect(rebuilt.errors[0]).toMatchObject({ type: "TypeError", message: "alignment drifted" });
    expect(JSON.stringify(receiver.requests.map((r) => r.body))).not.toContain("s3cr3t-value-123");
  });
});

describe("spans too large for the backend", () => {
  it("sends at most STAGETRACE_OTLP_MAX_EVENTS file events per span; the manifest keeps every file and counts the rest", async () => {
    receiver = await startOtlpReceiver();
    const run = tempDir();
    const result = await spawnStage({
      OUTPUT_DIR: run,
      FIXTURE_FILES: "40",
      STAGETRACE_OTLP_MAX_EVENTS: "10",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    expect(result.code, result.stderr).toBe(0);
    const manifest = readJson(join(run, "fixture", "manifest.json"));
    expect(manifest.outputs).toHaveLength(41); // 40 files and out.txt
    expect(manifest.telemetry).toMatchObject({ events_omitted: 31, exported: 1, dropped: 0 });
    const span = receiver.spans().find((s) => s.name === "stage fixture")!;
    expect(span.events.filter((e) => e.name === "stagetrace.file")).toHaveLength(10);
    expect(span.droppedEventsCount).toBe(31);
    expect(manifestFromSpan(span).toDict().telemetry.events_omitted).toBe(31);
  });
});

describe("trace context from the environment", () => {
  it("joins the parent's trace when TRACEPARENT is set", async () => {
    receiver = await startOtlpReceiver();
    const run = tempDir();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentId = "00f067aa0ba902b7";
    const result = await spawnStage({
      OUTPUT_DIR: run,
      TRACEPARENT: `00-${traceId}-${parentId}-01`,
      BAGGAGE: "pipeline=subtitles",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    expect(result.code, result.stderr).toBe(0);
    const manifest = readJson(join(run, "fixture", "manifest.json"));
    expect(manifest.trace).toMatchObject({ trace_id: traceId, parent_span_id: parentId });
    const span = receiver.spans().find((s) => s.name === "stage fixture")!;
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe(parentId);
    for (const line of readLogLines(join(run, "fixture", "stage.log"))) expect(line.trace_id).toBe(traceId);
  });

  it("still writes a complete manifest when the parent trace is not sampled, and exports nothing", async () => {
    receiver = await startOtlpReceiver();
    const run = tempDir();
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const result = await spawnStage({
      OUTPUT_DIR: run,
      TRACEPARENT: `00-${traceId}-b7ad6b7169203331-00`,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    expect(result.code, result.stderr).toBe(0);
    const manifest = readJson(join(run, "fixture", "manifest.json"));
    assertValidManifest(manifest);
    expect(manifest.trace.trace_id).toBe(traceId);
    expect(manifest.outputs).toHaveLength(1);
    expect(manifest.config.model).toBe("large-v2");
    expect(receiver.spans()).toHaveLength(0);
  });
});

// Backend faults (refused, 500, 429, hang, slow, reset) are in test/faults/backend-faults.test.ts.
