/**
 * The OTLP side of the stage spans, one class per file: the account of what
 * was delivered (export-account.ts), the exporter that trims spans for the
 * wire and counts them (trimming-counting-exporter.ts), the processor that
 * counts what it hands the batch processor (counting-span-processor.ts), and
 * the exporter loaded on first use (deferred-span-exporter.ts).
 */
export { ExportAccount } from "./export-account.js";
export { CountingSpanProcessor } from "./counting-span-processor.js";
export { DeferredSpanExporter } from "./deferred-span-exporter.js";
export { shortenValues, TrimmingCountingExporter, trimSpan } from "./trimming-counting-exporter.js";
