// Bring your own SDK: an app on @opentelemetry/sdk-node (the 2.x line,
// 0.223) with stagetrace's manifest processors on its provider, run as a real
// process against the in-process OTLP receiver, set up as
// docs/configuration.md shows. One trace, each span exported once, the
// app's service.name on spans, logs and heartbeats (set in the environment
// or only in code), the manifest's log counts true, and the local record
// complete whatever the app's span limits: the span exported carries what
// they allow, and the manifest counts what they dropped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { spawnStage } from "../support/spawn-stage.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "../support/tmp.js";

const APP = fileURLToPath(new URL("../fixtures/own-sdk-app.mjs", import.meta.url));

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function app(env: Record<string, string> = {}) {
  receiver = await startOtlpReceiver();
  const run = tempDir();
  const r = await spawnStage(
    {
      OUTPUT_DIR: run,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      STAGETRACE_HEARTBEAT_INTERVAL_MS: "200",
      ...env,
    },
    APP,
  );
  expect(r.code, r.stderr).toBe(0);
  return { ...r, run, manifest: readJson(join(run, "own", "manifest.json")) };
}

describe("an app with its own @opentelemetry/sdk-node", () => {
  it("one trace, each span exported once, the app's service.name everywhere, true log counts, all 200 files", async () => {
    const r = await app({ OTEL_SERVICE_NAME: "media" });
    const rec = receiver!;
    await rec.waitFor((x) => x.spans().some((s) => s.name === "app job"));
    const stageSpans = rec.spans().filter((s) => s.name === "stage own");
    expect(stageSpans).toHaveLength(1);
    const job = rec.spans().find((s) => s.name === "app job")!;
    expect(stageSpans[0]!.spanContext().traceId).toBe(job.spanContext().traceId);
    expect(stageSpans[0]!.parentSpanContext?.spanId).toBe(job.spanContext().spanId);
    expect(r.manifest.trace.trace_id).toBe(job.spanContext().traceId);

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
    const r = await app({
      OTEL_SERVICE_NAME: "media",
      OWN_SDK_LIMITS: "default",
      OWN_SDK_CONFIG_KEYS: "150",
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "8",
    });
    const rec = receiver!;
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
    const r = await app({ OWN_SDK_SERVICE: "media-in-code" });
    const rec = receiver!;
    await rec.waitFor((x) => x.spans().some((s) => s.name === "app job") && x.metricPoints().length > 0 && x.logRecords().length > 0);
    for (const s of rec.spans()) expect(s.resource.attributes["service.name"]).toBe("media-in-code");
    const logs = rec.logRecords().filter((l) => l.traceId === r.manifest.trace.trace_id);
    expect(logs.length).toBeGreaterThan(0);
    for (const l of rec.logRecords()) expect(l.resourceAttributes["service.name"]).toBe("media-in-code");
    for (const m of rec.metricPoints()) expect(m.resourceAttributes["service.name"]).toBe("media-in-code");
    expect(r.manifest.telemetry.log_records_exported).toBe(rec.logRecords().length);
  });
});
