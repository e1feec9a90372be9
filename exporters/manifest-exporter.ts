import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import { ATTR, FILE_EVENT, MANIFEST_FILE } from "../src/conventions.js";
import { isStageSpan, manifestTelemetryOf, manifestTextFromSpan } from "../src/manifest/manifest-from-span.js";
import { manifestPathIn, writeManifestTelemetry, writeManifestText } from "../src/manifest/manifest-file.js";
import type { ManifestTelemetry } from "../src/types.js";
import { StagetraceError } from "../src/errors.js";
import { spanAsRecorded } from "./stage-span-records.js";

/** The file name of a stage's manifest inside its stage directory. */
export { MANIFEST_FILE };

export interface ManifestExporterOptions {
  /** The OTLP traces endpoint this process exports to, or null for local files only. */
  endpoint?: string | null;
  /** Most file events a span may carry over OTLP; the excess is counted in `telemetry.events_omitted`. */
  otlpMaxEventsPerSpan?: number;
  /** Called when a manifest cannot be written (the exporter itself never throws). */
  onWriteError?: (path: string, error: unknown) => void;
  /**
   * Called when a stage span arrives with events or attributes its tracer
   * provider dropped (an app's provider with span limits): the span that
   * provider exports lacks them; the manifest, built from the stage's own
   * record, does not.
   */
  onEventsDropped?: (stage: string, dropped: { events: number; attributes: number }) => void;
  /**
   * The spans are exported by someone else (an app's own SDK), but this
   * process's log records go out through stagetrace: its manifests record the
   * log counts at shutdown.
   */
  logsOnly?: boolean;
}

/**
 * Writes `<stage dir>/manifest.json` for every stage span it is given, from
 * the span alone (`manifestFromSpan`). Writes are synchronous and atomic, so
 * the file is complete when `span.end()` returns, before any network wait.
 */
export class ManifestExporter implements SpanExporter {
  private readonly endpoint: string | null;
  private readonly maxEvents: number;
  private readonly onWriteError: (path: string, error: unknown) => void;
  private readonly onEventsDropped: ManifestExporterOptions["onEventsDropped"];
  private readonly logsOnly: boolean;
  private readonly written: string[] = [];
  /** The telemetry section each manifest was written with, for `recordTelemetry` to complete. */
  private readonly telemetryWritten = new Map<string, ManifestTelemetry>();
  private isShutdown = false;

  constructor(options: ManifestExporterOptions = {}) {
    this.endpoint = options.endpoint ?? null;
    this.maxEvents = options.otlpMaxEventsPerSpan ?? Infinity;
    this.onWriteError = options.onWriteError ?? (() => {});
    this.onEventsDropped = options.onEventsDropped;
    this.logsOnly = options.logsOnly ?? false;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.isShutdown) {
      resultCallback({ code: ExportResultCode.FAILED, error: new StagetraceError("EXPORT_REFUSED", "ManifestExporter is shut down") });
      return;
    }
    let error: Error | undefined;
    for (const span of spans) {
      const path = this.writeManifest(span);
      if (path instanceof Error) error = path;
    }
    resultCallback(error ? { code: ExportResultCode.FAILED, error } : { code: ExportResultCode.SUCCESS });
  }

  /** Writes one stage span's manifest; returns its path, null for non-stage spans, or the error. */
  writeManifest(ended: ReadableSpan): string | null | Error {
    const span = spanAsRecorded(ended);
    if (!isStageSpan(span) || span.attributes[ATTR.manifestDisabled] === true) return null;
    const path = manifestPathIn(span.attributes[ATTR.stageDir] as string);
    if ((span.droppedEventsCount > 0 || span.droppedAttributesCount > 0) && this.onEventsDropped)
      this.onEventsDropped(String(span.attributes[ATTR.taskName] ?? span.name), {
        events: span.droppedEventsCount,
        attributes: span.droppedAttributesCount,
      });
    try {
      const telemetry = manifestTelemetryOf(span, this.telemetryFor(span));
      writeManifestText(path, manifestTextFromSpan(span, telemetry));
      this.written.push(path);
      this.telemetryWritten.set(path, telemetry);
      return path;
    } catch (err) {
      this.onWriteError(path, err);
      return err instanceof Error ? err : new StagetraceError("IO_ERROR", String(err), { cause: err });
    }
  }

  /**
   * Writes the manifest of a stage span that is still open (`status:
   * "running"`), so a process killed later leaves one that parses. Throws
   * the write's StagetraceError (`IO_ERROR`) for the stage to report.
   * True when it wrote one, false for a span that has no manifest.
   */
  writeRunningManifest(open: ReadableSpan): boolean {
    const span = spanAsRecorded(open);
    if (!isStageSpan(span) || span.attributes[ATTR.manifestDisabled] === true) return false;
    const telemetry: Partial<ManifestTelemetry> =
      this.endpoint === null ? { endpoint: null, state: "local" } : { endpoint: this.endpoint, state: "pending" };
    writeManifestText(manifestPathIn(span.attributes[ATTR.stageDir] as string), manifestTextFromSpan(span, telemetry));
    return true;
  }

  private telemetryFor(span: ReadableSpan): Partial<ManifestTelemetry> {
    if (this.endpoint === null) return { endpoint: null, state: "local" };
    let fileEvents = 0;
    for (const e of span.events) if (e.name === FILE_EVENT) fileEvents++;
    return {
      endpoint: this.endpoint,
      state: "pending",
      events_omitted: span.droppedEventsCount + Math.max(0, fileEvents - this.maxEvents),
    };
  }

  /**
   * Once the process's export has ended, records how it went in every
   * manifest this exporter wrote. Only the `telemetry` section changes; the
   * rest of each file is kept byte for byte, not parsed and written again.
   */
  recordTelemetry(result: Pick<ManifestTelemetry, "exported" | "dropped" | "log_records_exported" | "log_records_dropped">): void {
    const logs = result.log_records_exported + result.log_records_dropped > 0;
    if (this.endpoint === null && !(this.logsOnly && logs)) return;
    // With the app's SDK exporting the spans, only the log counts are this process's to tell.
    const counts =
      this.endpoint === null
        ? { log_records_exported: result.log_records_exported, log_records_dropped: result.log_records_dropped }
        : { state: "final" as const, ...result };
    for (const [path, written] of this.telemetryWritten) {
      try {
        writeManifestTelemetry(path, { ...written, ...counts });
      } catch (err) {
        this.onWriteError(path, err);
      }
    }
  }

  /** The manifests written so far, in order. */
  writtenPaths(): readonly string[] {
    return this.written;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.isShutdown = true;
    return Promise.resolve();
  }
}

export { ManifestSpanProcessor } from "./manifest-span-processor.js";
