import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";

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
