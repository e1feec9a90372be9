import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { CompressionAlgorithm } from "@opentelemetry/otlp-exporter-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { startOtlpReceiver } from "./support/otlp-receiver.js";
import type { OtlpReceiver, ReceiverBehaviour } from "./support/otlp-receiver.js";

const resource = resourceFromAttributes({ "service.name": "receiver-test" });
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function receiver(behaviour?: ReceiverBehaviour): Promise<OtlpReceiver> {
  const started = await startOtlpReceiver({ behaviour });
  cleanups.push(() => started.close());
  return started;
}

function tracerProvider(url: string, timeoutMillis?: number): BasicTracerProvider {
  const exporter = new OTLPTraceExporter({ url: `${url}/v1/traces`, timeoutMillis });
  return new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
}

describe("startOtlpReceiver", () => {
  it("receives and decodes a span sent by the real OTLP/HTTP trace exporter", async () => {
    const otlp = await receiver();
    const provider = tracerProvider(otlp.url);
    cleanups.push(() => provider.shutdown());

    const span = provider.getTracer("stagetrace", "0.1.0").startSpan("extract", {
      kind: SpanKind.CLIENT,
      startTime: [1700000000, 123456789],
      attributes: { "stage.rows": 1200, "stage.ok": true, "stage.ratio": 0.75, "stage.tags": ["a", "b"], "stage.id": "s1" },
    });
    span.addEvent("retry", { attempt: 2, "retry.reason": "timeout" }, [1700000000, 500000001]);
    span.setStatus({ code: SpanStatusCode.ERROR, message: "gave up" });
    span.end([1700000001, 7]);

    await otlp.waitFor((r) => r.spans().length === 1);

    const request = otlp.requests[0];
    expect(request?.path).toBe("/v1/traces");
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.protobuf).toBe(false);

    const [got] = otlp.spans();
    expect(got?.name).toBe("extract");
    expect(got?.kind).toBe(SpanKind.CLIENT);
    expect(got?.spanContext().traceId).toBe(span.spanContext().traceId);
    expect(got?.spanContext().spanId).toBe(span.spanContext().spanId);
    expect(got?.startTime).toEqual([1700000000, 123456789]);
    expect(got?.endTime).toEqual([1700000001, 7]);
    expect(got?.attributes).toEqual({
      "stage.rows": 1200,
      "stage.ok": true,
      "stage.ratio": 0.75,
      "stage.tags": ["a", "b"],
      "stage.id": "s1",
    });
    expect(got?.events).toEqual([
      { name: "retry", time: [1700000000, 500000001], attributes: { attempt: 2, "retry.reason": "timeout" }, droppedAttributesCount: 0 },
    ]);
    expect(got?.status).toEqual({ code: SpanStatusCode.ERROR, message: "gave up" });
    expect(got?.resource.attributes["service.name"]).toBe("receiver-test");
    expect(got?.instrumentationScope).toEqual({ name: "stagetrace", version: "0.1.0" });
  });

  it("receives log records from the real OTLP/HTTP log exporter, gzipped, with their span ids", async () => {
    const otlp = await receiver();
    const exporter = new OTLPLogExporter({ url: `${otlp.url}/v1/logs`, compression: CompressionAlgorithm.GZIP });
    const loggerProvider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
    cleanups.push(() => loggerProvider.shutdown());
    const tracer = new BasicTracerProvider().getTracer("t");
    const span = tracer.startSpan("stage");

    loggerProvider.getLogger("stage-log").emit({
      severityNumber: SeverityNumber.WARN,
      severityText: "WARN",
      body: { msg: "slow disk", ms: 812 },
      attributes: { "stage.name": "load" },
      context: trace.setSpan(ROOT_CONTEXT, span),
    });

    await otlp.waitFor((r) => r.logRecords().length === 1);
    expect(otlp.requests[0]?.headers["content-encoding"]).toBe("gzip");
    expect(otlp.logRecords()).toEqual([
      expect.objectContaining({
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        severityNumber: SeverityNumber.WARN,
        severityText: "WARN",
        body: { msg: "slow disk", ms: 812 },
        attributes: { "stage.name": "load" },
        resourceAttributes: expect.objectContaining({ "service.name": "receiver-test" }),
        scopeName: "stage-log",
      }),
    ]);
  });

  it("closes promptly while an exporter's request hangs", async () => {
    const otlp = await startOtlpReceiver({ behaviour: "hang" });
    const provider = tracerProvider(otlp.url, 500);
    provider.getTracer("t").startSpan("stuck").end();

    await otlp.waitFor((r) => r.requests.length === 1);
    // close() destroys the hanging socket; were it to wait for the request instead, it would never return.
    await otlp.close();
    // The exporter sees the connection drop, its retry cannot fit its 500ms budget, and it gives up.
    await provider.shutdown();
    expect(otlp.spans().map((span) => span.name)).toEqual(["stuck"]);
  });

  it("rejects waitFor with what was received when the predicate never holds", async () => {
    const otlp = await receiver();
    const provider = tracerProvider(otlp.url);
    cleanups.push(() => provider.shutdown());
    provider.getTracer("t").startSpan("only-span").end();
    await otlp.waitFor((r) => r.spans().length === 1);

    await expect(otlp.waitFor((r) => r.spans().length === 2, 300)).rejects.toThrow(
      /predicate still false after 300ms; received 1 request\(s\):\n {2}POST \/v1\/traces \(json\) spans: only-span/,
    );
  });

  it("answers according to its behaviour", async () => {
    const post = (url: string) =>
      fetch(`${url}/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });

    const failing = await receiver("status-500");
    expect((await post(failing.url)).status).toBe(500);

    const throttling = await receiver("status-429");
    const throttled = await post(throttling.url);
    expect([throttled.status, throttled.headers.get("retry-after")]).toEqual([429, "1"]);

    const resetting = await receiver("reset");
    await expect(post(resetting.url)).rejects.toThrow();
    expect(resetting.requests).toHaveLength(1);

    const slow = await startOtlpReceiver({ behaviour: "slow", delayMs: 100 });
    cleanups.push(() => slow.close());
    const started = performance.now();
    const answered = await post(slow.url);
    expect([answered.status, await answered.text()]).toEqual([200, "{}"]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);

    const ok = await receiver();
    const protobuf = Buffer.from([0x0a, 0x00]);
    const response = await fetch(`${ok.url}/v1/logs`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", "content-encoding": "gzip" },
      body: gzipSync(protobuf),
    });
    expect(response.status).toBe(200);
    expect(ok.requests[0]?.protobuf).toBe(true);
    expect(ok.requests[0]?.rawBody).toEqual(protobuf);
    // Decoded with protobufjs from the official .proto files: one empty ResourceLogs.
    expect(ok.requests[0]?.body).toEqual({ resourceLogs: [{}] });
    expect(ok.logRecords()).toEqual([]);
  });
});
