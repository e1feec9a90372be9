import { SpanStatusCode, type Span } from "@opentelemetry/api";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { ATTR, NOT_FINALIZED_REASON, assertStageStatus, TASK_RESULT, WARNING_ATTR, WARNING_EVENT } from "../conventions.js";
import { StagetraceError } from "../errors.js";
import { refreshPipelineAfterRerun } from "../run/pipeline-update.js";
import type { StageHeartbeat } from "../telemetry/heartbeat.js";
import type { OpenStage, Telemetry } from "../telemetry/telemetry.js";
import type { FinalizeOptions, StageStatus } from "../types.js";
import { truncate } from "../values/recorded-values.js";
import type { SecretValues } from "../values/redaction.js";
import type { FileTracking } from "./file-tracking.js";
import type { StageValues } from "./stage-values.js";

export { NOT_FINALIZED_REASON };

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A stage left without finalize() failed, so the process must not report
 * success: exit code 1, unless it already chose a non-zero one. (Inside an
 * `exit` listener this still changes the code the process exits with.)
 */
function failTheProcess(): void {
  if (!process.exitCode) process.exitCode = 1;
}

/** What the end of a stage works on: its span, its files, its values, its logs and where they are. */
export interface StageEndParts {
  stage: OpenStage;
  stageName: string;
  stageDir: string;
  manifestPath: string | null;
  logPaths: readonly string[];
  strict: boolean;
  span: Span;
  telemetry: Telemetry;
  files: FileTracking;
  values: StageValues;
  secrets: SecretValues;
  logger: () => Logger;
  heartbeat: () => StageHeartbeat | undefined;
  /** The stage's lease in its directory, while it runs. */
  lease: () => { stop(): void } | undefined;
  outputBase: string;
  runId: string;
  ioProblem: (what: string, err: unknown) => string;
  /** Hosted by the run's agent for a stage process: the exit code is that process's business, not the agent's. */
  hosted?: boolean;
}

/**
 * The ways a stage ends, and what each records: `finalize()` (awaiting the
 * pending hashes), at once on a signal or crash (`finalizeNow`), and at exit
 * without a finalize() call (`finalizeAbandoned`, `finalizeAbandonedSync`).
 * Every one ends in `endSpan`, whose `span.end()` writes the manifest.
 */
export class StageEnd {
  finalizing: Promise<void> | undefined;
  finalStatus: StageStatus | undefined;
  private finalReason: string | undefined;
  spanEnded = false;
  /** finalize() was told `saveManifest: false`. */
  private manifestDropped = false;
  private commandResources: Record<string, number | null> | undefined;
  private readonly cpuAtStart = process.cpuUsage();
  /** No closing log line: a hosted stage whose process was killed (an in-process one writes none either). */
  quietEnd = false;
  /** The task result when it is not the status's own (a hosted stage whose process was killed: `error`). */
  taskResult: string | undefined;
  /** The span's end time (epoch ms) when it is not now: a hosted stage ended in its own process. */
  endTime: number | undefined;

  constructor(private readonly p: StageEndParts) {}

  /** Ends a stage whose set-up failed in strict mode, before any line was logged, and returns the error to throw. */
  failSetup(problem: string): StagetraceError {
    const span = this.p.span;
    this.finalizing = Promise.resolve();
    this.finalStatus = "failed";
    this.p.values.addError(problem);
    this.spanEnded = true;
    span.setAttributes({ [ATTR.stageStatus]: "failed", [ATTR.taskResult]: TASK_RESULT.failed, [ATTR.stageStatusReason]: problem });
    span.setStatus({ code: SpanStatusCode.ERROR, message: problem });
    span.end();
    this.p.lease()?.stop();
    if (!this.p.hosted) this.p.telemetry.releaseStageDir(this.p.stageDir, this.p.stage);
    return new StagetraceError("IO_ERROR", `${problem}. Check that OUTPUT_DIR is writable and the disk has free space.`);
  }

  finalize(status: StageStatus, options: FinalizeOptions): Promise<void> {
    if (this.finalizing) {
      if (status !== this.finalStatus) {
        this.p.telemetry.warn(
          `stage ${this.p.stageName}: finalize("${status}") called after finalize("${this.finalStatus}"); the first status stands`,
        );
      }
      return this.finalizing;
    }
    assertStageStatus(status);
    this.finalStatus = status;
    this.finalReason = options.reason ?? (options.error !== undefined ? messageOf(options.error) : undefined);
    const { reason: _reason, error, saveManifest, ...extra } = options;
    // Recorded now, so a signal that ends the stage while its files are hashed keeps them too.
    this.p.values.setExtra(extra);
    if (saveManifest === false) this.dropManifest();
    this.finalizing = this.doFinalize(status, error);
    return this.finalizing;
  }

  /** finalize(..., { saveManifest: false }): no manifest is written at the end, and the running one is removed. */
  private dropManifest(): void {
    this.p.span.setAttribute(ATTR.manifestDisabled, true);
    this.manifestDropped = true;
    if (this.p.manifestPath === null) return;
    try {
      rmSync(this.p.manifestPath, { force: true });
    } catch (err) {
      this.p.telemetry.warn(this.p.ioProblem(`cannot remove the running manifest ${this.p.manifestPath}`, err));
    }
  }

  private async doFinalize(status: StageStatus, error: string | Error | undefined): Promise<void> {
    if (error !== undefined) this.p.values.addError(messageOf(error), error);
    const complete = await this.p.files.recordAll(() => this.spanEnded);
    if (complete && this.p.manifestPath !== null) {
      try {
        this.p.files.writeIndex(this.p.stageDir);
      } catch (err) {
        this.p.telemetry.warn(`${messageOf(err)}; later stages hash this stage's outputs again`);
      }
    }
    // A signal or a crash may have ended the stage while its files were being hashed.
    if (this.spanEnded) return;
    this.endSpan(status, this.finalReason);
  }

  finalizeNow(
    status: StageStatus,
    reason: string,
    options: { error?: unknown; message?: string; when?: string; exitCode?: number } = {},
  ): void {
    if (this.spanEnded) return;
    if (!this.finalizing) {
      this.finalizing = Promise.resolve();
      this.finalStatus = status;
      this.finalReason = reason;
      if (options.error !== undefined || options.message !== undefined) {
        this.p.values.addError(options.message ?? messageOf(options.error), options.error);
      }
    }
    this.p.files.recordNow(options.when ?? "the stage had to end");
    if (options.exitCode !== undefined) this.p.span.setAttribute(ATTR.processExitCode, options.exitCode);
    this.endSpan(this.finalStatus ?? status, this.finalReason);
  }

  /** Records the outcome on the span and ends it, which writes manifest.json synchronously. */
  private endSpan(status: StageStatus, reason: string | undefined): void {
    if (this.spanEnded) return;
    this.spanEnded = true;
    const { span, telemetry } = this.p;
    // Write the lines now, while the manifest can still say that some could not be written.
    telemetry.logFiles.flushAll();
    const logProblems = telemetry.logFiles.problemsFor(this.p.logPaths);
    for (const problem of logProblems) span.addEvent(WARNING_EVENT, { [WARNING_ATTR.message]: problem });
    if (this.p.strict) {
      // Strict mode: lines that cannot reach their file make the stage fail.
      const problem = logProblems[0];
      if (problem !== undefined && (status === "success" || status === "skipped")) {
        status = "failed";
        reason = `strict mode: ${problem}`;
        this.finalStatus = status;
        this.finalReason = reason;
        this.p.values.addError(reason);
      }
    }
    span.setAttributes({ [ATTR.stageStatus]: status, [ATTR.taskResult]: this.taskResult ?? TASK_RESULT[status] });
    if (this.commandResources) {
      for (const [k, v] of Object.entries(this.commandResources)) if (v !== null) span.setAttribute(ATTR.resourcePrefix + k, v);
    } else {
      const cpu = process.cpuUsage(this.cpuAtStart);
      span.setAttributes({
        [`${ATTR.resourcePrefix}cpu_user_ms`]: Math.round(cpu.user / 1000),
        [`${ATTR.resourcePrefix}cpu_system_ms`]: Math.round(cpu.system / 1000),
        [`${ATTR.resourcePrefix}peak_rss_mb`]: Math.round(process.resourceUsage().maxRSS / 1024),
      });
    }
    if (reason !== undefined) span.setAttribute(ATTR.stageStatusReason, this.p.secrets.scrub(truncate(reason)));
    if (status === "failed" || status === "interrupted") {
      span.setAttribute(ATTR.errorType, this.p.values.firstErrorType ?? status);
      span.setStatus({ code: SpanStatusCode.ERROR, message: reason ?? `stage ${status}` });
    }
    // A stage that did its job leaves the status unset, as the conventions ask of instrumentation.
    span.end(this.endTime);
    this.p.lease()?.stop();
    this.p.heartbeat()?.end();
    if (!this.p.hosted) telemetry.releaseStageDir(this.p.stageDir, this.p.stage);
    this.refreshPipeline();
    const name = this.p.stageName;
    const logger = this.p.logger();
    const line = { status, ...(reason !== undefined ? { reason } : {}) };
    if (this.quietEnd) {
      // no closing line: see quietEnd
    } else if (status === "failed") logger.error(line, `stage ${name} failed${reason ? `: ${reason}` : ""}`);
    else if (status === "interrupted") logger.warn(line, `stage ${name} interrupted${reason ? `: ${reason}` : ""}`);
    else logger.info(line, `stage ${name} ${status === "skipped" ? "skipped" : "finished"}`);
    telemetry.logFiles.flushAll();
    if (this.p.strict) this.strictAfterEnd();
  }

  // A stage re-run on its own into an ended run: its entry in pipeline.json, and the run's status, follow.
  private refreshPipeline(): void {
    const { outputBase, runId, stageName, telemetry } = this.p;
    if (runId === "unknown" || this.p.manifestPath === null) return;
    try {
      if (refreshPipelineAfterRerun(outputBase, runId) === "locked") {
        telemetry.warn(`${join(outputBase, "pipeline.json")} is locked by another process; stage ${stageName}'s entry was not updated`);
      }
    } catch (err) {
      telemetry.warn(`could not update ${join(outputBase, "pipeline.json")} after stage ${stageName}: ${(err as Error).message}`);
    }
  }

  // Strict mode, after the manifest was due: a missing manifest or lost log lines make the process fail.
  private strictAfterEnd(): void {
    const { telemetry, manifestPath } = this.p;
    const problems: string[] = [];
    problems.push(...telemetry.logFiles.problemsFor(this.p.logPaths));
    if (manifestPath !== null && !this.manifestDropped && !telemetry.manifestExporter.writtenPaths().includes(manifestPath)) {
      problems.push(`${manifestPath} was not written`);
    }
    if (problems.length === 0) return;
    if (!process.exitCode && !this.p.hosted) process.exitCode = 1;
    telemetry.warn(`stage ${this.p.stageName} (strict mode): ${problems.join("; ")}; the process exit code is 1`);
  }

  recordCommandResources(resources: Record<string, number | null>): void {
    this.commandResources = resources;
  }

  finalizeAbandoned(): Promise<void> {
    if (this.finalizing) return this.finalizing;
    failTheProcess();
    this.p.values.addError(`stage ${this.p.stageName} ended without calling finalize()`);
    return this.finalize("failed", { reason: NOT_FINALIZED_REASON });
  }

  finalizeAbandonedSync(exitCode?: number): void {
    if (this.spanEnded) return;
    if (!this.finalizing) failTheProcess();
    // The code the process ends with: its own, or 1 from failTheProcess() over a 0.
    if (exitCode !== undefined && typeof process.exitCode === "number") exitCode = process.exitCode;
    this.finalizeNow("failed", NOT_FINALIZED_REASON, {
      message: `stage ${this.p.stageName} ended without calling finalize()`,
      when: "the process exited",
      ...(exitCode !== undefined ? { exitCode } : {}),
    });
  }
}
