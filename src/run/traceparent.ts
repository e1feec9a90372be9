import type { Env } from "../config/env-rules.js";

// Read and written without the OpenTelemetry API: by `stagetrace run` before it loads the SDK
// (run-begin.ts) and by a stage process under the run's agent (src/agent/agent-client.ts).

const W3C_TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** `TRACEPARENT` as the W3C trace-context propagator reads it, or null when it is missing or invalid. */
export function traceparentFromEnv(env: Env): { traceId: string; spanId: string; traceFlags: number } | null {
  const m = W3C_TRACEPARENT.exec((env.TRACEPARENT ?? "").trim());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === "ff" || (version === "00" && rest !== undefined)) return null;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) };
}

/** A span's ids as a W3C `traceparent` (version 00), as the trace-context propagator writes it. */
export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}
