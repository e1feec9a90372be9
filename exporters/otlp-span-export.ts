import type { Attributes, Context } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, Span, SpanExporter, SpanProcessor, TimedEvent } from "@opentelemetry/sdk-trace-base";
import { TraceFlags } from "@opentelemetry/api";
import { FILE_EVENT } from "../src/conventions.js";
import { ExportGate } from "./export-gate.js";

/** How many spans went to the backend and how many did not. */
export class ExportAccount extends ExportGate {
  /** Sampled spans handed to the export queue. */
  handed = 0;

  /** Everything handed over that did not arrive: failures, queue overflow, spans still queued at exit. */
  get dropped(): number {
    return Math.max(0, this.handed - this.exported);
  }
}

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

/** Counts the sampled spans it passes to the wrapped (batch) processor. */
export class CountingSpanProcessor implements SpanProcessor {
  constructor(
    private readonly inner: SpanProcessor,
    private readonly account: ExportAccount,
  ) {}

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (span.spanContext().traceFlags & TraceFlags.SAMPLED) this.account.handed++;
    this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/**
 * An exporter whose module is loaded only when it is needed: importing the
 * OTLP exporter costs a stage process tens of milliseconds at start-up, which
 * a stage with no endpoint should not pay. Loading starts at construction;
 * exports wait for it.
 */
export class DeferredSpanExporter implements SpanExporter {
  private readonly ready: Promise<SpanExporter>;

  constructor(load: () => Promise<SpanExporter>) {
    this.ready = load();
    this.ready.catch(() => {}); // reported by the export that needs it
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.ready.then(
      (inner) => inner.export(spans, resultCallback),
      (error: Error) => resultCallback({ code: ExportResultCode.FAILED, error }),
    );
  }

  async forceFlush(): Promise<void> {
    await (await this.ready.catch(() => null))?.forceFlush?.();
  }

  async shutdown(): Promise<void> {
    await (await this.ready.catch(() => null))?.shutdown();
  }
}
