// An app's provider with no SDK behind it (nothing registered, as with
// OTEL_SDK_DISABLED=true in the app): the API's no-op tracer gives the stage
// a non-recording span with its parent's ids. stagetrace records the stage
// itself, under ids of its own, and writes its manifest. And a stage the
// app's sampler drops does not lend stagetrace's resource to the process's
// log records and heartbeats: a later stage the app records gives them the app's.
import { SamplingDecision, trace } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { initTelemetry, runStage, shutdownTelemetry, stageSpanProcessors } from "../../src/index.js";
import { activeTelemetry } from "../../src/telemetry/telemetry.js";
import { assertValidManifest } from "../support/schema.js";
import { readJson, tempDir } from "../support/tmp.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";

afterEach(async () => {
  delete process.env.TRACEPARENT;
  await shutdownTelemetry();
});

it("a stage on an app's provider with no SDK behind it gets its manifest, a child of TRACEPARENT with an id of its own", async () => {
  process.env.TRACEPARENT = `00-${TRACE_ID}-${PARENT}-01`;
  initTelemetry({ tracerProvider: trace.getTracerProvider() });
  const run = tempDir();
  const code = await runStage(
    "bare",
    (io) => {
      io.trackOutput(io.saveJson({ a: 1 }, "a.json"), "json");
      io.span.setAttribute("stagetrace.config.mode", "bare");
      expect(io.span.spanContext()).toMatchObject({ traceId: TRACE_ID, traceFlags: 0 });
    },
    { outputBase: run },
  );
  expect(code).toBe(0);
  const manifest = readJson(join(run, "bare", "manifest.json"));
  assertValidManifest(manifest);
  expect(manifest).toMatchObject({
    status: "success",
    config: { mode: "bare" },
    outputs: [{ name: "a.json" }],
    trace: { trace_id: TRACE_ID, parent_span_id: PARENT },
  });
  expect(manifest.trace.span_id).toMatch(/^[0-9a-f]{16}$/);
  expect(manifest.trace.span_id).not.toBe(PARENT);
});

it("a stage the app's sampler drops keeps the app's resource for a later stage it records", async () => {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": "app-svc" }),
    sampler: {
      shouldSample: (_ctx: unknown, _traceId: string, name: string) => ({
        decision: name === "stage dropped" ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD_AND_SAMPLED,
      }),
      toString: () => "DropOneStage",
    },
    spanProcessors: stageSpanProcessors(),
  });
  initTelemetry({ tracerProvider: provider });
  const run = tempDir();
  for (const name of ["dropped", "kept"]) expect(await runStage(name, () => {}, { outputBase: run })).toBe(0);
  for (const name of ["dropped", "kept"]) assertValidManifest(readJson(join(run, name, "manifest.json")));
  expect(activeTelemetry()!.resource.attributes["service.name"]).toBe("app-svc");
});
