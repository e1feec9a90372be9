import {
  context,
  isSpanContextValid,
  trace,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
} from "@opentelemetry/api";
import { ATTR } from "../conventions.js";

/**
 * Starts, beside the app's provider, a recording span for a stage that the
 * app's sampler dropped: `ids` are the ids the app's tracer gave it (none
 * when those are not the stage's own), `name`, `options` and `parent` what
 * the stage asked for.
 */
export type RecordDroppedStage = (ids: SpanContext | undefined, name: string, options: SpanOptions, parent: Context) => Span;

/**
 * The tracer stage spans start from on an app's tracer provider: the app's
 * own, except that a stage span it does not record is still recorded, as
 * on stagetrace's own provider (`StageSampler`), because its manifest is
 * built from it. The app's sampler decides: a stage span it drops gets a
 * span of stagetrace's (`recordDropped`) with the ids and trace flags the
 * app's tracer gave it (not sampled), which writes the manifest and is
 * exported by nobody. Child spans under it see an unsampled parent, as
 * they would under the app's non-recording span, so the app's sampler
 * decides for them as the specification says.
 */
export class AppStageTracer implements Tracer {
  readonly startActiveSpan: Tracer["startActiveSpan"];

  constructor(
    private readonly app: Tracer,
    private readonly recordDropped: RecordDroppedStage,
  ) {
    // stagetrace starts its stage spans with startSpan; the app's own calls through this tracer are the app's.
    this.startActiveSpan = app.startActiveSpan.bind(app);
  }

  startSpan(name: string, options: SpanOptions = {}, parent: Context = context.active()): Span {
    const span = this.app.startSpan(name, options, parent);
    if (span.isRecording() || typeof options.attributes?.[ATTR.stageDir] !== "string") return span;
    const ids = span.spanContext();
    // A tracer without an SDK behind it (none registered, OTEL_SDK_DISABLED) hands back the parent's
    // context or an invalid one: those ids are not the stage's, and stagetrace picks its own.
    const parentIds = options.root ? undefined : trace.getSpanContext(parent);
    const own = isSpanContextValid(ids) && ids.spanId !== parentIds?.spanId ? ids : undefined;
    const recorded = this.recordDropped(own, name, options, parent);
    locallyRecorded.add(recorded);
    return recorded;
  }
}

const locallyRecorded = new WeakSet<Span>();

/** Whether `span` is a stage span that the app's sampler dropped and stagetrace records itself (so it has stagetrace's resource, not the app's). */
export function isRecordedLocally(span: object): boolean {
  return locallyRecorded.has(span as Span);
}
