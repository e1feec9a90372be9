/**
 * Every place stagetrace relies on a part of another package that the
 * package does not promise to keep, and why. test/package-internals.test.ts
 * checks each one against the installed packages, so an upgrade that changes
 * one fails there, by name, before it changes what a stage records.
 */
import type { Span } from "@opentelemetry/api";
import type { SpanLimits, TimedEvent } from "@opentelemetry/sdk-trace";
import type { Agent } from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * OpenTelemetry SDK (`@opentelemetry/sdk-trace` `SpanImpl`, 2.x and 3.x):
 * the event list of a span whose `addEvent` would store an event's
 * attributes unchanged, or null. `addEvent` copies each attribute object
 * twice (sanitising it, then counting it against the per-event limit) and
 * checks every value's length: for 100,000 small files, a sixth of the
 * tracking time. On a span whose event, per-event attribute and
 * value-length limits are all unbounded, appending an event of checked
 * values gives what `addEvent` would. Reads the span's `events` and
 * `_spanLimits` (both lines; 2.x also copies the value-length limit into
 * `_attributeValueLengthLimit`, 3.x reads it from `_spanLimits`); any other
 * span, or an SDK without these fields, gets null (and so `addEvent`).
 */
export function sdkSpanEventList(span: Span): TimedEvent[] | null {
  const s = span as unknown as { events?: unknown; _spanLimits?: SpanLimits };
  const limits = s._spanLimits;
  if (!Array.isArray(s.events) || limits === undefined) return null;
  const unbounded =
    limits.eventCountLimit === Infinity && limits.attributePerEventCountLimit === Infinity && limits.attributeValueLengthLimit === Infinity;
  return unbounded ? (s.events as TimedEvent[]) : null;
}

/**
 * pino: a destination with this property set to true gets each line's level
 * in its `lastLevel` before `write` (what pino's multistream uses), so the
 * line router needs no parse. pino defines it as this global symbol
 * (`pino.symbols.needsMetadataGsym`); taking it from the registry keeps
 * pino out of modules that only route lines.
 */
export const PINO_NEEDS_METADATA: unique symbol = Symbol.for("pino.metadata") as never;

/**
 * pino: replaces how a logger stringifies objects interpolated into a message
 * (`%j`), through its private `formatOptsSym` slot, so they are censored like
 * the line's own fields. Children inherit it.
 */
export function setPinoInterpolationStringify(logger: object, stringify: (value: unknown) => string): void {
  const pino = require("pino") as { symbols: { formatOptsSym: symbol } };
  (logger as Record<symbol, unknown>)[pino.symbols.formatOptsSym] = { stringify };
}

/**
 * thread-stream (pino's worker-thread stream): its `worker`, for a message
 * that must reach the worker itself rather than its stream of lines.
 */
export function threadStreamWorker(stream: object): { postMessage(message: unknown): void } | undefined {
  return (stream as { worker?: { postMessage(message: unknown): void } }).worker;
}

/**
 * node:http: makes every socket `agent` opens unreferenced, so a request
 * under way never keeps the process alive. Node offers no option for it;
 * the agent's `createConnection` is wrapped. Use with `keepAlive: false`:
 * Node references a pooled socket again when it reuses it.
 */
export function unrefSockets<A extends Agent>(agent: A): A {
  const create = agent.createConnection.bind(agent) as (...args: unknown[]) => { unref?: () => void } | undefined;
  (agent as unknown as { createConnection: (...args: unknown[]) => unknown }).createConnection = (...args: unknown[]) => {
    const socket = create(...args);
    socket?.unref?.();
    return socket;
  };
  return agent;
}
