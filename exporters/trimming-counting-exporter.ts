import type { Attributes } from "@opentelemetry/api";
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter, TimedEvent } from "@opentelemetry/sdk-trace";
import { FILE_EVENT } from "../src/conventions.js";
import type { ExportAccount } from "./export-account.js";

/**
 * Sends spans on to the OTLP exporter with at most `maxEvents` file events
 * each (warnings and errors always go): a stage tracking 100,000 files must
 * not produce a payload the backend rejects. The manifest keeps every file;
 * the span says how many events it left out (`droppedEventsCount`).
 */
export class TrimmingCountingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly account: ExportAccount,
    private readonly maxEvents: number,
    private readonly maxValueLength = Infinity,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const trimmed = spans.map((s) => shortenValues(trimSpan(s, this.maxEvents), this.maxValueLength));
    this.account.pass(spans.length, (done) => this.inner.export(trimmed, done), resultCallback);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

export function trimSpan(span: ReadableSpan, maxEvents: number): ReadableSpan {
  let fileEvents = 0;
  for (const e of span.events) if (e.name === FILE_EVENT) fileEvents++;
  if (fileEvents <= maxEvents) return span;
  const kept: TimedEvent[] = [];
  let seen = 0;
  for (const e of span.events) {
    if (e.name !== FILE_EVENT || seen++ < maxEvents) kept.push(e);
  }
  const omitted = span.events.length - kept.length;
  // A view of the span, not a copy: everything else reads through to the original.
  return Object.create(span, {
    events: { value: kept, enumerable: true },
    droppedEventsCount: { value: span.droppedEventsCount + omitted, enumerable: true },
  }) as ReadableSpan;
}

/** A view of `span` whose string attribute values (the span's and its events') are at most `max` characters. */
export function shortenValues(span: ReadableSpan, max: number): ReadableSpan {
  if (max === Infinity) return span;
  const cut = (x: unknown) => (typeof x === "string" && x.length > max ? x.slice(0, max) : x);
  const shorten = (attrs: Attributes): Attributes => {
    let out: Attributes | undefined;
    for (const [k, v] of Object.entries(attrs)) {
      const short = Array.isArray(v) ? (v.some((x) => cut(x) !== x) ? v.map(cut) : v) : cut(v);
      if (short !== v) (out ??= { ...attrs })[k] = short as Attributes[string];
    }
    return out ?? attrs;
  };
  const events = span.events.map((e) => {
    const attributes = e.attributes && shorten(e.attributes);
    return attributes === e.attributes ? e : { ...e, attributes };
  });
  return Object.create(span, {
    attributes: { value: shorten(span.attributes), enumerable: true },
    events: { value: events, enumerable: true },
  }) as ReadableSpan;
}
