import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { StagetraceError } from "../src/errors.js";

/**
 * Counts what an exporter delivers and, once closed, fails new exports at
 * once instead of sending them. Closing it when the exit budget is spent is
 * what bounds shutdown: batches still queued cannot each wait out a timeout
 * against a dead backend.
 */
export class ExportGate {
  /** Items the backend accepted. */
  exported = 0;
  /** Items whose export failed or was refused by the closed gate. */
  failed = 0;
  lastError: string | undefined;
  private closed = false;

  close(): void {
    this.closed = true;
  }

  /** Lets exports through again (a new stage started after the gate was closed for an idle process). */
  reopen(): void {
    this.closed = false;
  }

  /**
   * Closes the gate when only one export timeout of the exit budget is left,
   * so the export already on the wire is the last one anybody waits for.
   * Returns a function that cancels the timer. The timer never keeps the
   * process alive by itself: only exports still running do, and those it ends.
   */
  closeWhenOneExportLeft(exitTimeoutMs: number, exportTimeoutMs: number): () => void {
    const timer = setTimeout(() => this.close(), Math.max(0, exitTimeoutMs - exportTimeoutMs - 100));
    timer.unref();
    return () => clearTimeout(timer);
  }

  /** Runs `send` for `count` items unless the gate is closed; counts the outcome. */
  pass(count: number, send: (done: (result: ExportResult) => void) => void, resultCallback: (result: ExportResult) => void): void {
    if (this.closed) {
      this.failed += count;
      resultCallback({ code: ExportResultCode.FAILED, error: new StagetraceError("EXPORT_REFUSED", "stagetrace: exit deadline reached, not sent") });
      return;
    }
    const done = (result: ExportResult) => {
      if (result.code === ExportResultCode.SUCCESS) this.exported += count;
      else {
        this.failed += count;
        this.lastError = result.error?.message ?? "export failed";
      }
      resultCallback(result);
    };
    try {
      send(done);
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }
}
