import { describe, expect, it } from "vitest";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, createTraceState, trace } from "@opentelemetry/api";
import type { SpanContext } from "@opentelemetry/api";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { otlpNanosToHrTime, spansFromOtlpJson, spansFromOtlpJsonText } from "../../src/otlp/otlp-json.js";

const REMOTE: SpanContext = {
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: "b7ad6b7169203331",
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
  traceState: createTraceState("vendor=a,other=b"),
};

const EVERY_TYPE = {
  str: "stage α",
  empty: "",
  int: 42,
  negative: -7,
  maxSafe: Number.MAX_SAFE_INTEGER,
  double: 3.25,
  nan: Number.NaN,
  yes: true,
  no: false,
  strings: ["a", "b"],
  numbers: [1, 2.5, -3],
  bools: [true, false],
  sparse: ["x", null, "z"],
};

/** Real spans from the real SDK, covering every field the OTLP mapping carries. */
async function recordSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "otlp-json-test", "host.cpu.count": 8 }),
    spanLimits: { attributeCountLimit: 14, eventCountLimit: 2, linkCountLimit: 1 },
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("stagetrace-test", "1.2.3");

  const root = tracer.startSpan("pipeline", {
    kind: SpanKind.SERVER,
    startTime: [1700000000, 123456789],
    attributes: EVERY_TYPE,
  });
  const child = tracer.startSpan(
    "stage",
    { kind: SpanKind.CLIENT, startTime: [1700000000, 200000001], links: [{ context: REMOTE, attributes: { why: "input" } }] },
    trace.setSpan(ROOT_CONTEXT, root),
  );
  child.addLink({ context: { ...REMOTE, spanId: "00f067aa0ba902b7" } }); // over the limit: dropped
  for (let i = 0; i < 16; i++) child.setAttribute(`attr.${i}`, i); // 2 over the limit
  child.addEvent("first", { n: 1 }, [1700000000, 300000000]); // evicted by the limit
  child.addEvent("retry", { attempt: 2, reason: "timeout", backoff: 1.5 }, [1700000000, 400000007]);
  child.addEvent("bare", undefined, [1700000001, 0]);
  child.setStatus({ code: SpanStatusCode.ERROR, message: "disk full" });
  child.end([1700000002, 999999999]);

  tracer.startSpan("internal", { startTime: [1700000003, 1] }, trace.setSpan(ROOT_CONTEXT, child)).end([1700000003, 2]);
  tracer.startSpan("publish", { kind: SpanKind.PRODUCER, startTime: [1700000004, 0] }).end([1700000004, 5]);
  // A remote parent sets OTLP's is-remote flag bits and passes on its trace state.
  tracer
    .startSpan("consume", { kind: SpanKind.CONSUMER, startTime: [1700000005, 0] }, trace.setSpanContext(ROOT_CONTEXT, REMOTE))
    .end([1700000005, 10]);

  root.setStatus({ code: SpanStatusCode.OK });
  root.end([1700000009, 876543210]);

  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** The bytes exporter-trace-otlp-http would POST, parsed. */
function toOtlpJson(spans: ReadableSpan[]): unknown {
  return JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));
}

function sameContext(got: SpanContext | undefined, want: SpanContext | undefined): void {
  expect(got?.traceId).toBe(want?.traceId);
  expect(got?.spanId).toBe(want?.spanId);
  expect(got?.traceFlags).toBe(want?.traceFlags);
  expect(got?.traceState?.serialize()).toBe(want?.traceState?.serialize());
}

describe("spansFromOtlpJson", () => {
  it("round-trips real SDK spans through the OTLP/JSON the HTTP exporter sends", async () => {
    const original = await recordSpans();
    const payload = toOtlpJson(original);
    const decoded = spansFromOtlpJson(payload);

    expect(decoded).toHaveLength(5);
    for (const want of original) {
      const got = decoded.find((span) => span.spanContext().spanId === want.spanContext().spanId);
      if (!got) throw new Error(`span ${want.name} lost`);
      expect(got.name).toBe(want.name);
      expect(got.kind).toBe(want.kind);
      sameContext(got.spanContext(), want.spanContext());
      expect(got.parentSpanContext?.spanId).toBe(want.parentSpanContext?.spanId);
      expect(got.parentSpanContext?.traceId).toBe(want.parentSpanContext?.traceId);
      expect(Boolean(got.parentSpanContext?.isRemote)).toBe(Boolean(want.parentSpanContext?.isRemote));
      expect(got.startTime).toEqual(want.startTime);
      expect(got.endTime).toEqual(want.endTime);
      expect(got.duration).toEqual(want.duration);
      expect(got.status).toEqual(want.status);
      expect(got.attributes).toEqual(want.attributes);
      expect(got.events).toEqual(want.events);
      expect(got.links).toHaveLength(want.links.length);
      got.links.forEach((link, i) => {
        sameContext(link.context, want.links[i]?.context);
        expect(link.attributes).toEqual(want.links[i]?.attributes ?? {}); // OTLP has no "absent" list
      });
      expect(got.droppedAttributesCount).toBe(want.droppedAttributesCount);
      expect(got.droppedEventsCount).toBe(want.droppedEventsCount);
      expect(got.droppedLinksCount).toBe(want.droppedLinksCount);
      expect(got.resource.attributes).toEqual(want.resource.attributes);
      expect(got.instrumentationScope).toEqual({ name: "stagetrace-test", version: "1.2.3" });
      expect(got.ended).toBe(true);
    }

    // Guard against a vacuous comparison: the interesting values really are there.
    const stage = decoded.find((span) => span.name === "stage");
    expect(stage?.droppedAttributesCount).toBe(2);
    expect(stage?.droppedEventsCount).toBe(1);
    expect(stage?.droppedLinksCount).toBe(1);
    expect(stage?.events.map((event) => event.name)).toEqual(["retry", "bare"]);
    expect(stage?.events[0]?.time).toEqual([1700000000, 400000007]);
    expect(decoded.find((span) => span.name === "pipeline")?.attributes).toEqual(EVERY_TYPE);
    expect(decoded.find((span) => span.name === "consume")?.parentSpanContext?.isRemote).toBe(true);
    expect(decoded.map((span) => span.kind).sort()).toEqual([0, 1, 2, 3, 4]);

    // Everything OTLP carries survives: encoding the decoded spans gives the same request.
    expect(toOtlpJson(decoded)).toEqual(payload);
  });

  it("reads base64 ids, string int64s, number times and enum names, as protobuf-JSON producers write them", () => {
    const hex = (b64: string) => Buffer.from(b64, "base64").toString("hex");
    const request = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "etl" } }] },
          schemaUrl: "https://opentelemetry.io/schemas/1.26.0",
          scopeSpans: [
            {
              scope: { name: "loader" },
              spans: [
                {
                  traceId: "W47/95gDgQPSabYzgT/GDA==",
                  spanId: "7vXhj8Y2gW8=",
                  parentSpanId: "",
                  name: "load",
                  kind: "SPAN_KIND_PRODUCER",
                  startTimeUnixNano: 1700000000000000000,
                  endTimeUnixNano: "1700000000500000001",
                  attributes: [
                    { key: "rows", value: { intValue: "-9000" } },
                    { key: "ratio", value: { doubleValue: "Infinity" } },
                    { key: "blob", value: { bytesValue: "AAEC" } },
                    { key: "empty", value: {} },
                    {
                      key: "nested",
                      value: {
                        kvlistValue: {
                          values: [{ key: "__proto__", value: { arrayValue: { values: [{ intValue: 1 }, { boolValue: true }] } } }],
                        },
                      },
                    },
                  ],
                  status: { code: "STATUS_CODE_ERROR", message: "bad row" },
                },
              ],
            },
          ],
        },
      ],
    };
    const [span, ...rest] = spansFromOtlpJson(request);
    expect(rest).toEqual([]);
    expect(span?.spanContext()).toEqual({
      traceId: hex("W47/95gDgQPSabYzgT/GDA=="),
      spanId: hex("7vXhj8Y2gW8="),
      traceFlags: TraceFlags.SAMPLED,
    });
    expect(span?.spanContext().traceId).toBe("5b8efff798038103d269b633813fc60c");
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.kind).toBe(SpanKind.PRODUCER);
    expect(span?.startTime).toEqual([1700000000, 0]);
    expect(span?.duration).toEqual([0, 500000001]);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: "bad row" });
    const attributes = span?.attributes as Record<string, unknown>;
    expect(attributes.rows).toBe(-9000);
    expect(attributes.ratio).toBe(Number.POSITIVE_INFINITY);
    expect(attributes.blob).toBe("AAEC");
    expect(attributes.empty).toBeNull();
    const nested = attributes.nested as Record<string, unknown>;
    expect(Object.getPrototypeOf(nested)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(nested, "__proto__")?.value).toEqual([1, true]);
    expect(span?.resource.attributes).toEqual({ "service.name": "etl" });
    expect(span?.resource.schemaUrl).toBe("https://opentelemetry.io/schemas/1.26.0");
    expect(span?.instrumentationScope).toEqual({ name: "loader" });
  });

  it("converts nanosecond strings to HrTime exactly, beyond 2^53", () => {
    expect(otlpNanosToHrTime("1700000000123456789")).toEqual([1700000000, 123456789]);
    expect(otlpNanosToHrTime("9007199254740993001")).toEqual([9007199254, 740993001]);
    expect(otlpNanosToHrTime("0")).toEqual([0, 0]);
  });

  it("accepts an array of requests and JSON Lines text, one request per line", async () => {
    const spans = await recordSpans();
    const first = toOtlpJson(spans.slice(0, 2));
    const second = toOtlpJson(spans.slice(2));
    const names = spans.map((span) => span.name);

    expect(spansFromOtlpJson([first, second]).map((span) => span.name)).toEqual(names);
    const lines = `${JSON.stringify(first)}\n\n${JSON.stringify(second)}\n`;
    expect(spansFromOtlpJsonText(lines).map((span) => span.name)).toEqual(names);
    expect(spansFromOtlpJsonText(JSON.stringify(first, null, 2)).map((span) => span.name)).toEqual(names.slice(0, 2));
    expect(spansFromOtlpJsonText("  \n")).toEqual([]);
    expect(spansFromOtlpJson({})).toEqual([]);
  });

  it("names the malformed part of the input", () => {
    const span = (fields: object) => ({
      traceId: "5b8efff798038103d269b633813fc60c",
      spanId: "eee19b7ec3c1b174",
      name: "s",
      startTimeUnixNano: "1",
      endTimeUnixNano: "2",
      ...fields,
    });
    const request = (spans: object[]) => ({
      resourceSpans: [{ scopeSpans: [{ spans: [span({})] }, { spans }] }],
    });

    expect(() => spansFromOtlpJson(request([span({}), span({}), span({}), span({ traceId: undefined })]))).toThrow(
      "resourceSpans[0].scopeSpans[1].spans[3]: traceId missing",
    );
    expect(() => spansFromOtlpJson(request([span({ spanId: "xyz" })]))).toThrow(
      'resourceSpans[0].scopeSpans[1].spans[0]: spanId must be 16 hex digits or base64 of 8 bytes, got "xyz"',
    );
    expect(() => spansFromOtlpJson(request([span({ startTimeUnixNano: "1.5e9" })]))).toThrow(
      "resourceSpans[0].scopeSpans[1].spans[0]: startTimeUnixNano must be a non-negative integer",
    );
    expect(() => spansFromOtlpJson(request([span({ kind: 9 })]))).toThrow("spans[0]: kind must be 0..5");
    expect(() => spansFromOtlpJson(request([span({ attributes: [{ key: "k", value: { intValue: "twelve" } }] })]))).toThrow(
      'resourceSpans[0].scopeSpans[1].spans[0].attributes[0].value: intValue has the wrong type: "twelve"',
    );
    expect(() => spansFromOtlpJson([{}, { resourceSpans: {} }])).toThrow("[1].resourceSpans: expected an array");
    expect(() => spansFromOtlpJson(42)).toThrow("payload: expected an object, got number 42");
    const line = JSON.stringify(request([span({ endTimeUnixNano: undefined })]));
    expect(() => spansFromOtlpJsonText(`${line}\n${line}`)).toThrow(
      "line 1: resourceSpans[0].scopeSpans[1].spans[0]: endTimeUnixNano missing",
    );
    expect(() => spansFromOtlpJsonText('{"resourceSpans":[]}\n{oops')).toThrow("line 2: not valid JSON");
  });
});
