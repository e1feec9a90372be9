// An app that already runs its own OpenTelemetry SDK: stagetrace uses the
// app's provider and only adds the manifest processor to it.
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { hostname } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { initTelemetry, runStage, stageSpanProcessors } from "../../src/index.js";
import { assertValidManifest } from "../support/schema.js";
import { readJson, tempDir } from "../support/tmp.js";

it("writes manifests through stageSpanProcessors() on the app's own provider", async () => {
  const appSpans = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    spanProcessors: [...stageSpanProcessors(), new SimpleSpanProcessor(appSpans)],
    spanLimits: { eventCountLimit: 10_000 },
  });
  provider.register(); // as the app's SDK does: global provider and context manager
  initTelemetry({ tracerProvider: provider });
  const run = tempDir();
  const code = await runStage(
    "app-stage",
    (io) => {
      io.trackOutput(io.saveJson({ a: 1 }, "a.json"), "json");
      io.setConfig({ mode: "app" });
      expect(trace.getActiveSpan()).toBe(io.span);
    },
    { outputBase: run },
  );
  expect(code).toBe(0);
  const manifest = readJson(join(run, "app-stage", "manifest.json"));
  assertValidManifest(manifest);
  expect(manifest).toMatchObject({ status: "success", config: { mode: "app" }, telemetry: { endpoint: null, state: "local" } });
  // The app's resource has no host or pid (no detectors): the manifest names the stage's process all the same.
  expect(manifest.process).toMatchObject({ pid: process.pid, hostname: hostname() });
  // the stage span reached the app's own exporter: it came from the app's provider
  const span = appSpans.getFinishedSpans().find((s) => s.name === "stage app-stage")!;
  expect(span.spanContext().traceId).toBe(manifest.trace.trace_id);
  expect(span.events.filter((e) => e.name === "stagetrace.file")).toHaveLength(1);
});
