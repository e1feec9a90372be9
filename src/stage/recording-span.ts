import type { Attributes, Exception, Link, Span, SpanAttributeValue, SpanContext, SpanStatus, TimeInput } from "@opentelemetry/api";
import { isTimeInput, millisToHrTime, timeInputToHrTime } from "@opentelemetry/core";
import { forgetStageSpanRecord, type StageSpanRecord } from "../../exporters/stage-span-records.js";

/**
 * The stage span as the stage's own code writes to it on an app's tracer
 * provider: every attribute and event goes to the span (which keeps what its
 * limits allow) and to the stage's record (which keeps everything, for the
 * manifest). Events get their time here, so both have the same one.
 */
export class RecordingSpan implements Span {
  constructor(
    private readonly span: Span,
    private readonly record: StageSpanRecord,
  ) {}

  spanContext(): SpanContext {
    return this.span.spanContext();
  }

  setAttribute(key: string, value: SpanAttributeValue): this {
    this.span.setAttribute(key, value);
    this.record.setAttributes({ [key]: value });
    return this;
  }

  setAttributes(attributes: Attributes): this {
    this.span.setAttributes(attributes);
    this.record.setAttributes(attributes);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    const attributes = isTimeInput(attributesOrTime) ? {} : (attributesOrTime ?? {});
    const at = isTimeInput(attributesOrTime) ? attributesOrTime : time;
    const hr = at === undefined ? millisToHrTime(Date.now()) : timeInputToHrTime(at);
    this.span.addEvent(name, attributes, hr);
    this.record.addEvent(name, attributes, hr);
    return this;
  }

  addLink(link: Link): this {
    this.span.addLink(link);
    return this;
  }

  addLinks(links: Link[]): this {
    this.span.addLinks(links);
    return this;
  }

  setStatus(status: SpanStatus): this {
    this.span.setStatus(status);
    return this;
  }

  updateName(name: string): this {
    this.span.updateName(name);
    return this;
  }

  /** Ends the span; its manifest is written meanwhile (the span processors run synchronously), so the record goes. */
  end(endTime?: TimeInput): void {
    this.span.end(endTime);
    forgetStageSpanRecord(this.span.spanContext());
  }

  isRecording(): boolean {
    return this.span.isRecording();
  }

  recordException(exception: Exception, time?: TimeInput): void {
    this.span.recordException(exception, time);
  }
}
