// `stagetrace run` spawns its pipeline before it loads the OpenTelemetry SDK
// when the run span's sampling follows from the configuration alone
// (startWithoutSdk, src/run/run-begin.ts). Each decision it makes without the
// SDK is held here to the SDK's own: a BasicTracerProvider configured from
// the same variables, under a parent the SDK's W3C propagator extracted.
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { sampledWithoutSdk, startWithoutSdk } from "../../src/run/run-begin.js";
import { traceparentFromEnv } from "../../src/run/traceparent.js";

const SAMPLERS = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"];
const PARENTS: Record<string, string | undefined> = {
  none: undefined,
  sampled: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  "not sampled": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
};

const w3c = new W3CTraceContextPropagator();
const carrierGetter = { get: (c: Record<string, string>, k: string) => c[k], keys: (c: Record<string, string>) => Object.keys(c) };

/** The span context the SDK's propagator reads from `traceparent`, or undefined. */
function extracted(traceparent: string) {
  return trace.getSpanContext(w3c.extract(ROOT_CONTEXT, { traceparent }, carrierGetter));
}

const saved = { ...process.env };
afterEach(() => {
  for (const k of ["OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"]) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe("starting the run span without the SDK", () => {
  for (const sampler of SAMPLERS) {
    for (const [label, traceparent] of Object.entries(PARENTS)) {
      it(`${sampler}, parent ${label}: the SDK's decision, or none where it depends on the trace id`, () => {
        const env = { OTEL_TRACES_SAMPLER: sampler, OTEL_TRACES_SAMPLER_ARG: "0.5", ...(traceparent ? { TRACEPARENT: traceparent } : {}) };
        const light = startWithoutSdk(env, false);
        const ratioDecides = sampler === "traceidratio" || (sampler === "parentbased_traceidratio" && traceparent === undefined);
        if (ratioDecides) {
          expect(light).toBeNull();
          return;
        }
        expect(light).not.toBeNull();
        const ids = light!.startSpan("RUN p", new Date(), light!.parent);

        // The SDK, configured from the same variables (its own env reading), under the propagator's parent.
        Object.assign(process.env, { OTEL_TRACES_SAMPLER: sampler, OTEL_TRACES_SAMPLER_ARG: "0.5" });
        const provider = new BasicTracerProvider();
        const parent = traceparent ? w3c.extract(ROOT_CONTEXT, { traceparent }, carrierGetter) : ROOT_CONTEXT;
        const span = provider.getTracer("t").startSpan("RUN p", {}, parent);
        const sdk = span.spanContext();
        span.end();

        expect(ids.traceFlags & TraceFlags.SAMPLED).toBe(sdk.traceFlags & TraceFlags.SAMPLED);
        expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(ids.spanId).toMatch(/^[0-9a-f]{16}$/);
        if (traceparent) {
          expect(ids.traceId).toBe(sdk.traceId);
          expect(light!.parent).toMatchObject({ traceId: extracted(traceparent)!.traceId, spanId: extracted(traceparent)!.spanId });
        } else expect(light!.parent).toBeNull();
      });
    }
  }

  it("leaves to the SDK what the propagators or a resumed run decide", () => {
    const tp = PARENTS.sampled!;
    expect(startWithoutSdk({}, false)).not.toBeNull();
    expect(startWithoutSdk({}, true)).toBeNull();
    expect(startWithoutSdk({ TRACEPARENT: tp, TRACESTATE: "vendor=1" }, false)).toBeNull();
    expect(startWithoutSdk({ BAGGAGE: "team=media" }, false)).toBeNull();
    expect(startWithoutSdk({ OTEL_PROPAGATORS: "baggage" }, false)).toBeNull();
    expect(startWithoutSdk({ OTEL_PROPAGATORS: "none" }, false)).toBeNull();
    expect(startWithoutSdk({ OTEL_PROPAGATORS: "tracecontext" }, false)).not.toBeNull();
    // A sampler name the specification does not have falls back to the default, as the configuration does.
    expect(startWithoutSdk({ OTEL_TRACES_SAMPLER: "nonsense" }, false)).not.toBeNull();
    expect(sampledWithoutSdk("parentbased_always_off", null)).toBe(0);
  });

  it("reads TRACEPARENT as the SDK's W3C propagator does", () => {
    const cases = [
      PARENTS.sampled!,
      PARENTS["not sampled"]!,
      ` ${PARENTS.sampled!} `,
      "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
      "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "00-00000000000000000000000000000000-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
      "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03",
      "garbage",
      "",
    ];
    for (const tp of cases) {
      const ours = traceparentFromEnv({ TRACEPARENT: tp });
      const theirs = extracted(tp);
      expect(ours === null ? undefined : ours, tp).toEqual(
        theirs === undefined ? undefined : { traceId: theirs.traceId, spanId: theirs.spanId, traceFlags: theirs.traceFlags },
      );
    }
    // Nothing here set a global propagator or context manager.
    expect(propagation.fields()).toEqual([]);
    expect(context.active()).toBe(ROOT_CONTEXT);
  });
});
