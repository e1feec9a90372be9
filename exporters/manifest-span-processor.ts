import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace";
import type { ManifestExporter } from "./manifest-exporter.js";

/**
 * Hands every ended stage span to a ManifestExporter, sampled or not: a
 * stage whose trace is not sampled for the backend still gets its manifest.
 */
export class ManifestSpanProcessor implements SpanProcessor {
  constructor(readonly exporter: ManifestExporter) {}

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    this.exporter.writeManifest(span);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }
}
