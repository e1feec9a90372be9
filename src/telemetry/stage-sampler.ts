import type { Attributes, Context, Link, SpanKind } from "@opentelemetry/api";
import {
  AlwaysOnSampler,
  ParentBasedSampler,
  SamplingDecision,
  type Sampler,
  type SamplingResult,
} from "@opentelemetry/sdk-trace-base";
import { ATTR } from "../conventions.js";

/**
 * Parent-based sampling, except that a stage span is always recorded: its
 * manifest is built from it, so even a stage in an unsampled trace must keep
 * its attributes and events. Such a span is recorded but not exported.
 */
export class StageSampler implements Sampler {
  private readonly inner: Sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() });

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const result = this.inner.shouldSample(context, traceId, name, kind, attributes, links);
    if (result.decision === SamplingDecision.NOT_RECORD && typeof attributes[ATTR.stageDir] === "string") {
      return { ...result, decision: SamplingDecision.RECORD };
    }
    return result;
  }

  toString(): string {
    return "StageSampler{ParentBased{AlwaysOn}, stage spans always recorded}";
  }
}
