import type { Attributes, Context, Link, SpanKind } from "@opentelemetry/api";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from "@opentelemetry/sdk-trace";
import { ATTR } from "../conventions.js";
import type { SamplerSetting } from "../config/telemetry-config.js";

/** The specification's built-in sampler that `OTEL_TRACES_SAMPLER` (and `_ARG`) names. */
export function samplerFor(setting: SamplerSetting): Sampler {
  const root = (name: string): Sampler =>
    name.endsWith("always_off")
      ? new AlwaysOffSampler()
      : name.endsWith("traceidratio")
        ? new TraceIdRatioBasedSampler(setting.ratio)
        : new AlwaysOnSampler();
  return setting.name.startsWith("parentbased_") ? new ParentBasedSampler({ root: root(setting.name) }) : root(setting.name);
}

/**
 * The configured sampler (`OTEL_TRACES_SAMPLER`, default parent-based
 * always-on), except that a stage span is always recorded: its manifest is
 * built from it, so even a stage the sampler drops must keep its attributes
 * and events. Such a span is recorded but not sampled, so it is not exported.
 */
export class StageSampler implements Sampler {
  private readonly inner: Sampler;

  constructor(setting: SamplerSetting = { name: "parentbased_always_on", ratio: 1 }) {
    this.inner = samplerFor(setting);
  }

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const result = this.inner.shouldSample(context, traceId, name, kind, attributes, links);
    if (result.decision === SamplingDecision.NOT_RECORD && typeof attributes[ATTR.stageDir] === "string") {
      return { ...result, decision: SamplingDecision.RECORD };
    }
    return result;
  }

  toString(): string {
    return `StageSampler{${this.inner.toString()}, stage spans always recorded}`;
  }
}
