import type { Attributes, HrTime, SpanContext } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace";

/**
 * Everything a stage wrote on its span, kept whole beside a span whose
 * tracer provider is not stagetrace's own. An app's provider applies its
 * span limits (128 events and 128 attributes by default, an attribute value
 * length from `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`): its span carries what
 * the limits allow and counts what they dropped, while the manifest is
 * built from this record and lists everything.
 */
export class StageSpanRecord {
  readonly attributes: Attributes = {};
  readonly events: TimedEvent[] = [];

  /** `process`: the host and process attributes of the stage's process, which its manifest names whatever the app's resource holds. */
  constructor(readonly process: Attributes = {}) {}

  setAttributes(attributes: Attributes): void {
    for (const [k, v] of Object.entries(attributes)) if (v !== undefined) this.attributes[k] = v;
  }

  addEvent(name: string, attributes: Attributes, time: HrTime): void {
    this.events.push({ name, attributes: { ...attributes }, time, droppedAttributesCount: 0 });
  }
}

const records = new Map<string, StageSpanRecord>();
const keyOf = (c: SpanContext) => `${c.traceId}-${c.spanId}`;

/** Keeps `record` as the full record of the span with this context, until `forgetStageSpanRecord`. */
export function keepStageSpanRecord(context: SpanContext, record: StageSpanRecord): void {
  records.set(keyOf(context), record);
}

/** Drops the record of the span with this context (its final manifest is written). */
export function forgetStageSpanRecord(context: SpanContext): void {
  records.delete(keyOf(context));
}

/**
 * The span as its manifest is built from: its own ids, times, status,
 * resource (with the stage process's host and pid) and dropped counts, with
 * the attributes and events of the stage's record when it has one (else the
 * span itself).
 */
export function spanAsRecorded(span: ReadableSpan): ReadableSpan {
  const record = records.get(keyOf(span.spanContext()));
  if (record === undefined) return span;
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status,
    attributes: record.attributes,
    links: span.links,
    events: record.events,
    duration: span.duration,
    ended: span.ended,
    resource: span.resource.merge(resourceFromAttributes(record.process)),
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}
