// The bring-your-own-SDK cases both OpenTelemetry JS lines must pass, for
// test/telemetry/own-sdk-node.test.ts (2.x) and own-sdk-node-3.test.ts (3.x):
// an app on its own @opentelemetry/sdk-node with stagetrace's manifest
// processors on its provider (test/fixtures/own-sdk-app*.mjs), run as a
// real process against the in-process OTLP receiver. One trace, each span
// exported once, the app's service.name on spans, logs and heartbeats (set
// in the environment or only in code), the manifest's log counts true, and
// the local record complete whatever the app's span limits and whatever its
// sampler drops, and what app code sets on io.span in the manifest as on
// stagetrace's own provider.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { OtlpReceiver } from "./otlp-receiver.js";
import { assertValidManifest } from "./schema.js";
import { pipelineLogOf, readLogLines } from "./tmp.js";

/** One run of the app's stage "own": its stderr, the run folder and the stage's manifest. */
export interface OwnSdkRun {
  stderr: string;
  run: string;
  manifest: any;
}

/**
 * Registers the cases in the describe block around the call. `runApp` runs
 * the app with `env` on top of OUTPUT_DIR and the receiver's endpoint (and a
 * 200 ms heartbeat) and has checked its exit code; `receiver` is the one it
 * exported to; `sdkVersion` is what the app's spans must name as
 * telemetry.sdk.version, which proves the app's SDK made them, and
 * `nodeVersion` what they name as process.runtime.version, the Node.js the
 * app ran on.
 */
export function ownSdkCases(
  runApp: (env: Record<string, string>) => Promise<OwnSdkRun>,
  receiver: () => OtlpReceiver,
  sdkVersion: RegExp,
  nodeVersion: RegExp,
): void {
  it("one trace, each span exported once, the app's service.name everywhere, true log counts, all 200 files", async () => {
    const r = await runApp({ OTEL_SERVICE_NAME: "media" });
    const rec = receiver();
    await rec.waitFor((x) => x.spans().some((s) => s.name === "app job"));
    const stageSpans = rec.spans().filter((s) => s.name === "stage own");
    expect(stageSpans).toHaveLength(1);
    const job = rec.spans().find((s) => s.name === "app job")!;
    expect(stageSpans[0]!.spanContext().traceId).toBe(job.spanContext().traceId);
    expect(stageSpans[0]!.parentSpanContext?.spanId).toBe(job.spanContext().spanId);
    expect(r.manifest.trace.trace_id).toBe(job.spanContext().traceId);
    expect(job.resource.attributes["telemetry.sdk.version"]).toMatch(sdkVersion);
    expect(job.resource.attributes["process.runtime.version"]).toMatch(nodeVersion);

    for (const s of rec.spans()) expect(s.resource.attributes["service.name"]).toBe("media");
    const logs = rec.logRecords().filter((l) => l.traceId === job.spanContext().traceId);
    expect(logs.length).toBeGreaterThan(0);
    for (const l of logs) expect(l.resourceAttributes["service.name"]).toBe("media");
    for (const m of rec.metricPoints()) expect(m.resourceAttributes["service.name"]).toBe("media");

    expect(r.manifest.outputs).toHaveLength(200);
    const lines = readFileSync(join(r.run, "own", "stage.log"), "utf8")
      .split("\n")
      .filter(Boolean).length;
    expect(logs).toHaveLength(lines);
    expect(r.manifest.telemetry).toMatchObject({ log_records_exported: lines, log_records_dropped: 0 });
  });

  it("with the SDK's default span limits, the manifest, stage.log and pipeline log are complete; the span carries what the limits allow, and the drop is counted", async () => {
    // 128 events and 128 attributes a span, and values cut at 8 characters (the app's SDK reads the variable).
    const r = await runApp({
      OTEL_SERVICE_NAME: "media",
      OWN_SDK_LIMITS: "default",
      OWN_SDK_CONFIG_KEYS: "150",
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "8",
    });
    const rec = receiver();
    await rec.waitFor((x) => x.spans().some((s) => s.name === "stage own"));
    const span = rec.spans().find((s) => s.name === "stage own")!;

    // The local record: every file, whole paths and hashes, every config value, in the stage's own directory.
    expect(r.manifest.outputs.map((o: { name: string }) => o.name)).toEqual(Array.from({ length: 200 }, (_, i) => `f${i}.txt`));
    for (const o of r.manifest.outputs) {
      expect(o.path).toBe(join(r.run, "own", o.name));
      expect(o.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(Object.keys(r.manifest.config)).toHaveLength(150);
    expect(r.manifest.config.k149).toBe("value 149");
    expect(r.manifest.status).toBe("success");
    const stageLog = readLogLines(join(r.run, "own", "stage.log")).map((l) => l.msg);
    expect(stageLog).toEqual(expect.arrayContaining(["own line 0", "own line 1", "own line 2", "stage own finished"]));
    const pipelineLog = readLogLines(pipelineLogOf(r.run)).map((l) => l.msg);
    expect(pipelineLog).toEqual(expect.arrayContaining(["own line 0", "own line 1", "own line 2", "stage own finished"]));

    // The span the app exported: what its limits allowed, with the drop counted, and the manifest saying the same.
    expect(span.events).toHaveLength(128);
    expect(span.droppedEventsCount).toBe(200 - 128);
    expect(r.manifest.telemetry.events_omitted).toBe(span.droppedEventsCount);
    expect(span.droppedAttributesCount).toBeGreaterThan(0);
    expect(String(span.events[0]!.attributes!["file.path"])).toHaveLength(8);
    expect(r.stderr).toMatch(
      /stage own: the tracer provider's span limits dropped 72 events and \d+ attributes of its span.*manifest\.json has them all/,
    );
  });

  it("a service.name given only in code (new NodeSDK({ serviceName })) names the log records and heartbeats too", async () => {
    const r = await runApp({ OWN_SDK_SERVICE: "media-in-code" });
    const rec = receiver();
    await rec.waitFor((x) => x.spans().some((s) => s.name === "app job") && x.metricPoints().length > 0 && x.logRecords().length > 0);
    for (const s of rec.spans()) expect(s.resource.attributes["service.name"]).toBe("media-in-code");
    const logs = rec.logRecords().filter((l) => l.traceId === r.manifest.trace.trace_id);
    expect(logs.length).toBeGreaterThan(0);
    for (const l of rec.logRecords()) expect(l.resourceAttributes["service.name"]).toBe("media-in-code");
    for (const m of rec.metricPoints()) expect(m.resourceAttributes["service.name"]).toBe("media-in-code");
    expect(r.manifest.telemetry.log_records_exported).toBe(rec.logRecords().length);
  });

  it("attributes, an event and an exception that app code sets on io.span reach the manifest whole, as on stagetrace's own provider", async () => {
    const env = { OWN_SDK_SPAN_VALUES: "1", OWN_SDK_FILES: "2", OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "8" };
    const own = await runApp({ ...env, OWN_SDK_PROVIDER: "stagetrace" });
    const r = await runApp(env);
    const rec = receiver();
    await rec.waitFor((x) => x.spans().some((s) => s.name === "stage own"));
    const span = rec.spans().find((s) => s.name === "stage own")!;
    // The app's SDK made the span (the limit cut the value there), and the manifest has the value whole.
    expect(span.resource.attributes["telemetry.sdk.version"]).toMatch(sdkVersion);
    expect(span.attributes["stagetrace.config.model"]).toBe("whisper-");
    assertValidManifest(r.manifest);
    expect(r.manifest.config).toEqual({ model: "whisper-large-v3", beam_size: 5 });
    expect(r.manifest.resources).toMatchObject({ gpu_name: "NVIDIA A100-SXM4-80GB" });
    expect(r.manifest.extra).toEqual({ reviewed_by: "qa pipeline" });
    expect(r.manifest.warnings.map((w: { message: string }) => w.message)).toContain("low confidence on segment 12");
    expect(r.manifest.errors).toEqual([expect.objectContaining({ type: "RangeError", message: "segment 13 decoded twice" })]);
    expect(r.manifest.errors[0].stack).toMatch(/^RangeError: segment 13 decoded twice\n\s+at /);
    // The same stage on stagetrace's own provider: the same record.
    const recorded = (m: any) => ({
      config: m.config,
      gpu: m.resources.gpu_name, // beside the CPU time and memory the stage measured
      extra: m.extra,
      warnings: m.warnings.map((w: { message: string }) => w.message),
      errors: m.errors.map((e: { type: string; message: string }) => [e.type, e.message]),
    });
    expect(own.manifest.telemetry.endpoint).not.toBeNull();
    expect(recorded(r.manifest)).toEqual(recorded(own.manifest));
  });

  it("a stage span the app's sampler drops: its manifest, stage.log and pipeline log are complete, nothing of it is exported, and the app's sampler decides for its child spans", async () => {
    // The app's sampler drops stage spans and is parent-based always-on for the rest.
    const r = await runApp({ OTEL_SERVICE_NAME: "media", OWN_SDK_SAMPLER: "drop-stages", OWN_SDK_SPAN_VALUES: "1" });
    const rec = receiver();
    await rec.waitFor((x) => x.spans().some((s) => s.name === "app after"));
    // No stage span, and no "app step": its parent, the stage, is not sampled, so the parent-based sampler drops it.
    expect(
      rec
        .spans()
        .map((s) => s.name)
        .sort(),
    ).toEqual(["app after", "app job"]);
    const job = rec.spans().find((s) => s.name === "app job")!;
    expect(job.resource.attributes["telemetry.sdk.version"]).toMatch(sdkVersion);

    assertValidManifest(r.manifest);
    expect(r.manifest).toMatchObject({
      status: "success",
      trace: { trace_id: job.spanContext().traceId, parent_span_id: job.spanContext().spanId },
      config: { model: "whisper-large-v3", beam_size: 5 },
      telemetry: { endpoint: null, state: "local" },
    });
    expect(r.manifest.trace.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(r.manifest.outputs.map((o: { name: string }) => o.name)).toEqual(Array.from({ length: 200 }, (_, i) => `f${i}.txt`));
    for (const o of r.manifest.outputs) expect(o.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(r.manifest.process.pid).toEqual(expect.any(Number));

    const stageLog = readLogLines(join(r.run, "own", "stage.log"));
    expect(stageLog.map((l) => l.msg)).toEqual(expect.arrayContaining(["own line 0", "own line 1", "own line 2", "stage own finished"]));
    // The lines the stage's body logged name the stage's span, unsampled.
    for (const l of stageLog.filter((l) => String(l.msg).startsWith("own line")))
      expect(l).toMatchObject({ trace_id: r.manifest.trace.trace_id, span_id: r.manifest.trace.span_id, trace_flags: 0 });
    const pipelineLog = readLogLines(pipelineLogOf(r.run)).map((l) => l.msg);
    expect(pipelineLog).toEqual(expect.arrayContaining(["own line 0", "own line 1", "own line 2", "stage own finished"]));
    // The log records still go out, the body's naming the stage's span, and the manifest counts them.
    const logs = rec.logRecords().filter((l) => l.traceId === r.manifest.trace.trace_id);
    expect(logs).toHaveLength(stageLog.length);
    expect(logs.filter((l) => l.spanId === r.manifest.trace.span_id)).toHaveLength(3);
    expect(r.manifest.telemetry).toMatchObject({ log_records_exported: stageLog.length, log_records_dropped: 0 });
  });

  it.each([
    ["OTEL_TRACES_SAMPLER=always_off", { OTEL_TRACES_SAMPLER: "always_off" }],
    ["new TraceIdRatioBasedSampler(0)", { OWN_SDK_SAMPLER: "ratio-0" }],
  ])("with the app's sampler %s, no span is exported, and the manifest is complete", async (_what, env) => {
    const r = await runApp({ OTEL_SERVICE_NAME: "media", ...env });
    const rec = receiver();
    // The process has exited, so what it sent has arrived: its log records, and no span.
    await rec.waitFor((x) => x.logRecords().some((l) => l.traceId === r.manifest.trace.trace_id));
    expect(rec.spans()).toEqual([]);
    assertValidManifest(r.manifest);
    expect(r.manifest.status).toBe("success");
    expect(r.manifest.trace.parent_span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(r.manifest.outputs).toHaveLength(200);
    for (const o of r.manifest.outputs) expect(o.hash).toMatch(/^[0-9a-f]{64}$/);
    const lines = readLogLines(join(r.run, "own", "stage.log")).length;
    expect(r.manifest.telemetry).toMatchObject({ log_records_exported: lines, log_records_dropped: 0 });
  });
}
