import { context, trace, type Span } from "@opentelemetry/api";
import { EnvironmentSetter } from "@opentelemetry/propagator-env-carrier";
import { contextFromEnv, envPropagator } from "../telemetry/telemetry.js";

/**
 * This process's environment for a child, with `span` as the child's parent
 * (TRACEPARENT/TRACESTATE/BAGGAGE through the W3C env carrier; the inherited
 * TRACEPARENT is replaced, the inherited BAGGAGE passed on) and `vars` on top.
 */
export function childEnv(span: Span, vars: Record<string, string>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // The baggage this process was given travels on to its child.
  const inherited = contextFromEnv(context.active());
  delete env.TRACEPARENT;
  delete env.TRACESTATE;
  delete env.BAGGAGE;
  const carrier: Record<string, string> = {};
  envPropagator.inject(trace.setSpan(inherited, span), undefined, new EnvironmentSetter(carrier));
  return Object.assign(env, carrier, vars);
}
