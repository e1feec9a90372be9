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
  /** Exports under way: closing the gate gives up on them (their late results are ignored). */
  private readonly inFlight = new Set<(result: ExportResult) => void>();

  /** Refuses new exports; those under way go on. */
  close(): void {
    this.closed = true;
  }

  /**
   * At the exit deadline: refuses new exports and gives up on those under
   * way, each failing now (and counted), so nothing waits for it, whatever
   * its own timeout. The request itself goes on, on a socket that does not
   * keep the process alive.
   */
  abandon(): void {
    this.closed = true;
    for (const done of [...this.inFlight]) done({ code: ExportResultCode.FAILED, error: new Error("stagetrace: exit deadline reached while waiting for the backend") });
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
    // Once the whole budget is spent, exports still under way are given up on.
    const last = setTimeout(() => this.abandon(), Math.max(0, exitTimeoutMs - 50));
    last.unref();
    return () => {
      clearTimeout(timer);
      clearTimeout(last);
    };
  }

  /** Runs `send` for `count` items unless the gate is closed; counts the outcome. */
  pass(count: number, send: (done: (result: ExportResult) => void) => void, resultCallback: (result: ExportResult) => void): void {
    if (this.closed) {
      this.failed += count;
      resultCallback({ code: ExportResultCode.FAILED, error: new StagetraceError("EXPORT_REFUSED", "stagetrace: exit deadline reached, not sent") });
      return;
    }
    let settled = false;
    const done = (result: ExportResult) => {
      if (settled) return;
      settled = true;
      this.inFlight.delete(done);
      if (result.code === ExportResultCode.SUCCESS) this.exported += count;
      else {
        this.failed += count;
        this.lastError = result.error?.message ?? "export failed";
      }
      resultCallback(result);
    };
    this.inFlight.add(done);
    try {
      send(done);
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }
}
