import type { TracerProvider as SdkTracerProvider } from "@opentelemetry/sdk-trace";
import type { ManifestExporter } from "../../exporters/manifest-exporter.js";
import type { ExportAccount } from "../../exporters/otlp-span-export.js";
import type { LogFiles } from "../log/log-files.js";
import type { TelemetryReport } from "../types.js";
import { redactUrl } from "../values/redaction.js";
import type { Heartbeat } from "./heartbeat.js";
import { appManifestExporters } from "./provider.js";
import type { LogDelivery, LogTransport } from "./log-transport.js";
import type { ResolvedTelemetryConfig } from "../config/telemetry-config.js";
import { EXIT_MARGIN_MS, lastExportMs, shutdownBudgetMs } from "./exit-bound.js";

export { EXIT_MARGIN_MS, lastExportMs };

/** What a shutdown flushes and stops. */
export interface ShutdownParts {
  config: ResolvedTelemetryConfig;
  provider: SdkTracerProvider | null;
  account: ExportAccount;
  heartbeat: Heartbeat | null;
  logFiles: LogFiles;
  logTransport: LogTransport | null;
  manifestExporter: ManifestExporter;
  warn: (message: string) => void;
  /** When the exit bound began (epoch ms), if before now: what is left of it is the budget. */
  boundFrom?: number;
}

/**
 * Flushes the log files and ends the span export, the heartbeats and the
 * OTLP log worker side by side, all by `exitTimeoutMs` minus a margin
 * whatever the backend does; then says what was lost and records the
 * outcome in the manifests written.
 */
export async function shutdownWithin(p: ShutdownParts): Promise<TelemetryReport> {
  const { exitTimeoutMs, exportTimeoutMs } = p.config;
  // Everything below ends by this budget; the rest of the bound is left for
  // the process to wind down (workers, exit handlers) on a busy machine.
  const now = Date.now();
  const budget = shutdownBudgetMs(exitTimeoutMs, p.boundFrom === undefined ? 0 : now - p.boundFrom);
  const exitBy = now + budget;
  // Queued batches then fail at once instead of each waiting out a timeout.
  const cancelGate = p.account.closeWhenOneExportLeft(budget, lastExportMs(budget, exportTimeoutMs));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), budget);
  });
  const spans = (p.provider ? p.provider.shutdown() : Promise.resolve()).then(
    () => "done" as const,
    (err: unknown) => {
      p.warn(`span export failed at shutdown: ${(err as Error).message}`);
      return "done" as const;
    },
  );
  const beats = p.heartbeat?.shutdown(exitBy);
  p.logFiles.flushAll();
  // Let the span exporter put its requests on the wire before the log
  // worker's end, which blocks this thread while the worker exports: both
  // then wait for the backend side by side, not one after the other.
  await new Promise((resolve) => setImmediate(resolve));
  const logs: LogDelivery | null = p.logTransport ? await p.logTransport.end(p.warn, exitBy) : null;
  const outcome = await Promise.race([Promise.all([spans, beats]).then(() => "done" as const), deadline]);
  clearTimeout(timer);
  if (outcome === "timeout") p.account.abandon();
  cancelGate();

  const logsExported = logs?.exported ?? 0;
  const report: TelemetryReport = {
    endpoint: p.provider && p.config.tracesUrl ? redactUrl(p.config.tracesUrl) : null,
    exported: p.account.exported,
    dropped: p.account.dropped,
    logRecordsExported: logsExported,
    logRecordsDropped: logs ? Math.max(0, logs.handed - logsExported) : 0,
    timedOut: outcome === "timeout",
  };
  if (report.endpoint && report.dropped > 0) {
    const why = p.account.lastError ? ` (${p.account.lastError})` : report.timedOut ? ` (gave up after ${exitTimeoutMs} ms)` : "";
    p.warn(
      `${report.dropped} of ${p.account.handed} spans were not delivered to ${report.endpoint}${why}; ` +
        "local manifests and logs are complete",
    );
  }
  if (p.config.logsUrl && report.logRecordsDropped > 0) {
    const why = logs?.lastError ? ` (${logs.lastError})` : "";
    p.warn(`${report.logRecordsDropped} of ${logs!.handed} log records were not delivered to ${p.config.logsUrl}${why}`);
  }
  for (const exporter of appManifestExporters) {
    exporter.recordTelemetry({
      exported: 0,
      dropped: 0,
      log_records_exported: report.logRecordsExported,
      log_records_dropped: report.logRecordsDropped,
    });
  }
  p.manifestExporter.recordTelemetry({
    exported: report.exported,
    dropped: report.dropped,
    log_records_exported: report.logRecordsExported,
    log_records_dropped: report.logRecordsDropped,
  });
  return report;
}
