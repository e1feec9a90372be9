import { inspect } from "node:util";
import type { ExportAccount } from "../../exporters/otlp-span-export.js";
import type { LogFiles } from "../log/log-files.js";
import { dieBy, signalExitCode } from "../process-exit.js";
import type { TelemetryReport } from "../types.js";
import { EXIT_MARGIN_MS, lastExportMs } from "./exit-bound.js";
import type { ResolvedTelemetryConfig } from "../config/telemetry-config.js";

/** What telemetry needs of a stage that is still open when the process ends. */
export interface OpenStage {
  readonly stageName: string;
  finalizeAbandoned(): Promise<void>;
  finalizeAbandonedSync(exitCode?: number): void;
  /** Ends the stage at once, awaiting nothing (signal, uncaught exception). */
  finalizeNow(
    status: "failed" | "interrupted",
    reason: string,
    options?: { error?: unknown; message?: string; when?: string; exitCode?: number },
  ): void;
}

/** What the process's lifecycle acts on. */
export interface LifecycleParts {
  config: ResolvedTelemetryConfig;
  logFiles: LogFiles;
  account: ExportAccount;
  warn: (message: string) => void;
  /**
   * The bounded shutdown of telemetry (runs once); `boundFrom` (epoch ms) is
   * when its exit bound began, when that was before now.
   */
  shutdown: (boundFrom?: number) => Promise<TelemetryReport>;
  /** At `exit`, after the open stages ended: says what the process leaves unsent. */
  atExit: () => void;
}

/**
 * The open stages of one process and what the process's end does to them:
 * `beforeExit` finalizes the abandoned ones and shuts telemetry down,
 * `exit` ends them synchronously, SIGINT/SIGTERM and uncaught exceptions
 * end them with the truth (and exit, when no listener of the app's is left
 * to decide). The listeners exist only while a stage is open.
 */
export class ProcessLifecycle {
  private readonly openStages = new Map<string, OpenStage>();
  /** Every open stage, including a second StageIO for a directory another one holds. */
  private readonly open = new Set<OpenStage>();
  private processHandlers = false;
  /** Set once a signal or an uncaught exception made stagetrace end the process. */
  private exiting = false;
  /** Between `uncaughtExceptionMonitor` and `uncaughtException`: keep the handlers while the stages end. */
  private crashing = false;
  /** Cancels the idle timer that closes the export gate once no stage is open. */
  private cancelIdleGate: (() => void) | undefined;
  /** When the last open stage ended (epoch ms), while none is open: where the exit bound of a process ending on its own starts. */
  private idleSince: number | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => this.handleSignal(signal);
  private readonly onCrashMonitor = (error: unknown, origin: string) => this.finalizeCrashed(error, origin);
  private readonly onUncaught = (error: unknown, origin: string) => this.exitAfterCrash(error, origin);
  // The process is ending on its own. If the backend outlasted the exit
  // bound, an export still under way (a gRPC call, a retry timer) must not
  // hold the process: it then exits once the bound's margin has passed.
  // The bound counts from the end of the last stage: the time exports kept the event loop busy
  // before `beforeExit` came is spent of it already.
  private readonly onBeforeExit = () =>
    void this.finalizeAbandoned()
      .then(() => this.o.shutdown(this.open.size === 0 ? this.idleSince : undefined))
      .then((report) => {
        if (report.timedOut) setTimeout(() => process.exit(), EXIT_MARGIN_MS).unref();
      });
  private readonly onExit = (code: number) => {
    for (const stage of [...this.open]) stage.finalizeAbandonedSync(code);
    this.o.atExit();
  };

  constructor(private readonly o: LifecycleParts) {
    process.once("beforeExit", this.onBeforeExit);
    process.once("exit", this.onExit);
  }

  /** Shutdown has begun: `beforeExit` no longer starts it. */
  shuttingDown(): void {
    process.removeListener("beforeExit", this.onBeforeExit);
  }

  /** Notes that a stage owns `stageDir` until it is finalized; a second owner gets a warning, not a corrupt manifest. */
  claimStageDir(stageDir: string, stage: OpenStage): void {
    if (this.openStages.has(stageDir)) {
      this.o.warn(
        `two StageIO objects for stage ${stage.stageName} are open at once in this process; both write ${stageDir}/manifest.json and the last to finalize wins`,
      );
    }
    this.openStages.set(stageDir, stage);
    this.open.add(stage);
    if (this.open.size === 1) this.installProcessHandlers();
    this.cancelIdleGate?.();
    this.cancelIdleGate = undefined;
    this.idleSince = undefined;
    this.o.account.reopen();
  }

  /**
   * Notes that the stage owning `stageDir` has ended; with no stage left open, the process handlers are removed.
   */
  releaseStageDir(stageDir: string, stage: OpenStage): void {
    if (this.openStages.get(stageDir) === stage) this.openStages.delete(stageDir);
    this.open.delete(stage);
    if (this.open.size === 0 && !this.exiting && !this.crashing) this.removeProcessHandlers();
    if (this.open.size === 0) {
      this.idleSince = Date.now();
      this.closeGateWhenIdle();
    }
  }

  /**
   * The exit bound counts from the end of the last open stage. Exports still
   * queued or retrying against a dead backend would keep the event loop busy,
   * so `beforeExit` (and with it the bounded shutdown) would come only after
   * them: thousands of queued spans could hold the process for many seconds.
   * So once no stage has been open for `exitTimeoutMs` minus one export
   * timeout, queued batches fail at once (and are counted), exactly as at
   * shutdown. A stage that starts later opens the gate again.
   */
  private closeGateWhenIdle(): void {
    if (this.cancelIdleGate !== undefined || !this.o.config.tracesUrl) return;
    this.cancelIdleGate = this.o.account.closeWhenOneExportLeft(
      this.o.config.exitTimeoutMs,
      lastExportMs(this.o.config.exitTimeoutMs, this.o.config.exportTimeoutMs),
    );
  }

  /**
   * While a stage is open: SIGINT/SIGTERM (unless `handleSignals` is off)
   * and uncaught exceptions / unhandled rejections end the open stages with
   * the truth. Prepended, so the stages are final before any listener of
   * the app's runs (and perhaps exits).
   */
  private installProcessHandlers(): void {
    if (this.processHandlers) return;
    this.processHandlers = true;
    if (this.o.config.handleSignals) {
      process.prependListener("SIGINT", this.onSignal);
      process.prependListener("SIGTERM", this.onSignal);
    }
    process.prependListener("uncaughtExceptionMonitor", this.onCrashMonitor);
    process.prependListener("uncaughtException", this.onUncaught);
  }

  private removeProcessHandlers(): void {
    if (!this.processHandlers) return;
    this.processHandlers = false;
    process.removeListener("SIGINT", this.onSignal);
    process.removeListener("SIGTERM", this.onSignal);
    process.removeListener("uncaughtExceptionMonitor", this.onCrashMonitor);
    process.removeListener("uncaughtException", this.onUncaught);
  }

  /**
   * SIGINT/SIGTERM while a stage is open: every open stage ends
   * `interrupted` with the signal's name as reason, and the logs are
   * written. If the app listens for the signal too, that is all: its
   * listener decides what happens next. Otherwise stagetrace exports within
   * `exitTimeoutMs` and exits with 128 + the signal number (130, 143); a
   * second signal meanwhile exits at once.
   */
  private handleSignal(signal: NodeJS.Signals): void {
    const code = signalExitCode(signal);
    if (this.exiting) {
      this.o.logFiles.flushAll();
      this.exitBy(signal);
    }
    const appListens = process.listenerCount(signal) > 1;
    for (const stage of [...this.open]) {
      stage.finalizeNow("interrupted", signal, {
        when: `${signal} arrived`,
        ...(appListens ? {} : { exitCode: code }),
      });
    }
    this.o.logFiles.flushAll();
    if (appListens) return;
    this.exiting = true;
    process.exitCode = code;
    void this.o.shutdown().finally(() => this.exitBy(signal));
  }

  /**
   * Ends the process by `signal` itself (default action), so a calling shell
   * or `stagetrace run` sees a death by that signal and stops, as it would
   * without stagetrace; exits 128 + its number where that cannot be done.
   */
  private exitBy(signal: NodeJS.Signals): never {
    this.removeProcessHandlers();
    dieBy(signal);
    process.exit(signalExitCode(signal));
  }

  /** `uncaughtExceptionMonitor`: runs before Node (or the app) handles the error; every open stage ends `failed` with it. */
  private finalizeCrashed(error: unknown, origin: string): void {
    const what = origin === "unhandledRejection" ? "unhandled rejection" : "uncaught exception";
    const message = error instanceof Error ? error.message : inspect(error);
    this.crashing = true;
    // Without a listener of the app's, the process is about to exit with 1 (Node's code, and ours).
    const exitCode = process.listenerCount("uncaughtException") > 1 ? {} : { exitCode: 1 };
    for (const stage of [...this.open]) {
      stage.finalizeNow("failed", `${what}: ${message}`, { error, message, when: `the ${what} ended the process`, ...exitCode });
    }
    this.o.logFiles.flushAll();
  }

  /**
   * `uncaughtException`: with no listener of the app's, Node would print the
   * error and exit with 1 now, before the stage's span reaches the backend.
   * stagetrace does the same, after exporting within `exitTimeoutMs`. An app
   * with its own listener keeps its own behaviour.
   */
  private exitAfterCrash(error: unknown, _origin: string): void {
    this.crashing = false;
    if (this.exiting) return;
    if (process.listenerCount("uncaughtException") > 1) {
      if (this.open.size === 0) this.removeProcessHandlers();
      return;
    }
    this.exiting = true;
    process.stderr.write(`${inspect(error)}\n`);
    process.exitCode = 1;
    void this.o.shutdown().finally(() => process.exit(1));
  }

  /** Finalizes, as failed, every stage the process is leaving without a finalize() call. */
  private async finalizeAbandoned(): Promise<void> {
    await Promise.all([...this.open].map((s) => s.finalizeAbandoned()));
  }
}
