import { ROOT_CONTEXT, trace, type Context } from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";
import type { RunState } from "./run-directory.js";

// Apart from run-directory.ts, so that reading a run's directory loads no OpenTelemetry package
// (a stage process whose records go to the run's agent needs the one, not the other).

/** The run span as a remote parent, from the state alone. */
export function runParentContext(t: NonNullable<RunState["trace"]>, base: Context = ROOT_CONTEXT): Context {
  return trace.setSpanContext(base, {
    traceId: t.trace_id,
    spanId: t.span_id,
    traceFlags: t.trace_flags,
    isRemote: true,
    ...(t.tracestate ? { traceState: new TraceState(t.tracestate) } : {}),
  });
}
