import type { Attributes, Exception, Link, Span, SpanAttributeValue, SpanContext, SpanStatus, TimeInput } from "@opentelemetry/api";
import { isTimeInput, millisToHrTime, timeInputToHrTime } from "@opentelemetry/core";
import { EXCEPTION_ATTR, EXCEPTION_EVENT } from "../conventions.js";
import { forgetStageSpanRecord, type StageSpanRecord } from "../../exporters/stage-span-records.js";

/**
 * The stage span as the stage's own code writes to it on an app's tracer
 * provider: every attribute and event goes to the span (which keeps what its
 * limits allow) and to the stage's record (which keeps everything, for the
 * manifest). Events get their time here, so both have the same one. It is
 * the stage's `io.span` and the active span while `runStage` runs its body,
 * so what app code sets on it reaches the manifest as on stagetrace's own
 * provider, where the span is the record.
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

  /** The `exception` event the SDK's span makes of `exception` (the same attributes), on the span and in the record. */
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === "string") attributes[EXCEPTION_ATTR.message] = exception;
    else if (exception) {
      if (exception.code) attributes[EXCEPTION_ATTR.type] = exception.code.toString();
      else if (exception.name) attributes[EXCEPTION_ATTR.type] = exception.name;
      if (exception.message) attributes[EXCEPTION_ATTR.message] = exception.message;
      if (exception.stack) attributes[EXCEPTION_ATTR.stacktrace] = exception.stack;
    }
    // Without a type or a message the SDK records nothing, and says so.
    if (attributes[EXCEPTION_ATTR.type] === undefined && attributes[EXCEPTION_ATTR.message] === undefined)
      this.span.recordException(exception, time);
    else this.addEvent(EXCEPTION_EVENT, attributes, time);
  }
}
