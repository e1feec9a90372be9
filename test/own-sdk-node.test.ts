// Bring your own SDK: an app on @opentelemetry/sdk-node (the 2.x line,
// 0.223) with stagetrace's manifest processors on its provider, run as a real
// process against the in-process OTLP receiver, set up as
// docs/configuration.md shows. One trace, each span exported once, the
// app's service.name on spans, logs and heartbeats, the manifest's log
// counts true, and every tracked file in the manifest once the limits are raised.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "./support/otlp-receiver.js";
import { spawnStage } from "./support/spawn-stage.js";
import { readJson, tempDir } from "./support/tmp.js";

const APP = fileURLToPath(new URL("./fixtures/own-sdk-app.mjs", import.meta.url));

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function app(env: Record<string, string> = {}) {
  receiver = await startOtlpReceiver();
  const run = tempDir();
  const r = await spawnStage(
    { OUTPUT_DIR: run, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: "media", STAGETRACE_HEARTBEAT_INTERVAL_MS: "200", ...env },
    APP,
  );
  expect(r.code, r.stderr).toBe(0);
  return { ...r, run, manifest: readJson(join(run, "own", "manifest.json")) };
}

describe("an app with its own @opentelemetry/sdk-node", () => {
  it("one trace, each span exported once, the app's service.name everywhere, true log counts, all 200 files", async () => {
    const r = await app();
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
    const lines = readFileSync(join(r.run, "own", "stage.log"), "utf8").split("\n").filter(Boolean).length;
    expect(logs).toHaveLength(lines);
    expect(r.manifest.telemetry).toMatchObject({ log_records_exported: lines, log_records_dropped: 0 });
  });

  it("with the SDK's default limit of 128 events a span, stderr says the manifest lacks files, naming the stage and the limit", async () => {
    const r = await app({ OWN_SDK_LIMITS: "default" });
    expect(r.manifest.outputs.length).toBeLessThan(200);
    expect(r.stderr).toMatch(/stage own: the tracer provider dropped \d+ events of its span.*eventCountLimit/);
  });
});
