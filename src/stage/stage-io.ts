import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";
import { millisToHrTime } from "@opentelemetry/core";
import { mkdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { Logger, LevelWithSilent } from "pino";
import {
  ATTR,
  EXCEPTION_ATTR,
  EXCEPTION_EVENT,
  FILE_ATTR,
  FILE_EVENT,
  MANIFEST_SCHEMA_VERSION,
  STAGE_SPAN_PREFIX,
  STAGE_STATUSES,
  TASK_RESULT,
  WARNING_ATTR,
  WARNING_EVENT,
} from "../conventions.js";
import { StagetraceError } from "../errors.js";
import { createStageLogger } from "../log/stage-logger.js";
import { MANIFEST_FILE } from "../../exporters/manifest-exporter.js";
import { writeFileAtomic } from "../manifest/write-atomic.js";
import {
  findStageDir,
  loadOrCreateRunState,
  pathInside,
  pipelineLogPath,
  resolveRunDir,
  resolveStageNumber,
  resolveStages,
  stageDirName,
  validateStageName,
  type RunState,
} from "../run/run-directory.js";
import { activeTelemetry, contextFromEnv, initTelemetry, type OpenStage, type Telemetry } from "../telemetry/telemetry.js";
import type { FileRole, StageOptions, StageStatus } from "../types.js";
import { fingerprint, resolveHashAlgorithm, type FileFingerprint } from "./file-fingerprint.js";
import { flattenToAttributes, truncate } from "./recorded-values.js";
import { SecretValues } from "./redaction.js";

/** What is known of a file whose hash was not finished when the process exited. */
function stillHashing(t: Tracked): FileFingerprint {
  return {
    path: t.path,
    name: basename(t.path),
    kind: "file",
    exists: true,
    size: null,
    modified: null,
    hash: null,
    hashAlgorithm: null,
    problem: `${t.path} was still being hashed when the process exited`,
  };
}

interface Tracked {
  path: string;
  role: FileRole;
  type: string;
  metadata: Record<string, unknown>;
  fromStage: string | null;
  retained?: boolean;
  reason?: string;
  time: number;
  fingerprint: FileFingerprint | Promise<FileFingerprint>;
}

const LOG_LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

function logLevel(value: string | undefined, source: string): LevelWithSilent {
  const level = (value ?? "debug").toLowerCase().replace(/^warning$/, "warn");
  if (!LOG_LEVELS.has(level)) {
    throw new StagetraceError("INVALID_OPTION", `${source}: unknown log level ${JSON.stringify(value)}; use debug, info, warn, error`);
  }
  return level as LevelWithSilent;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The reason recorded for a stage the process left without calling finalize(). */
export const NOT_FINALIZED_REASON = "finalize() was not called";

/**
 * One stage of a pipeline: its directory, its span, its logs and what it
 * tracks. Create it at the start of the stage and `await finalize()` at the end
 * (or let `runStage` do both).
 */
export class StageIO implements OpenStage {
  readonly stageName: string;
  readonly stageNumber: number | null;
  /** The run directory shared by every stage of the run. */
  readonly outputBase: string;
  /** This stage's directory, `<run dir>/NN_<name>`. */
  readonly stageDir: string;
  readonly stages: readonly string[] | null;
  /** The stage's span; child spans started while it is active nest under it. */
  readonly span: Span;
  readonly stageLogPath: string;
  readonly pipelineLogPath: string;
  readonly manifestPath: string | null;

  private readonly telemetry: Telemetry;
  private readonly hashAlgorithm: string;
  private readonly secrets = new SecretValues();
  private readonly tracked: Tracked[] = [];
  private readonly logger: Logger;
  private readonly cpuAtStart = process.cpuUsage();
  private finalizing: Promise<void> | undefined;
  private finalStatus: StageStatus | undefined;
  private firstErrorType: string | undefined;
  private commandResources: Record<string, number | null> | undefined;

  constructor(stageName: string, options: StageOptions = {}) {
    const env = process.env;
    const start = new Date();
    this.stageName = validateStageName(stageName);
    this.telemetry = activeTelemetry() ?? initTelemetry(options.telemetry);
    this.outputBase = resolveRunDir(options.outputBase, env, start);
    this.stages = resolveStages(options.stages, env, this.outputBase);
    this.stageNumber = resolveStageNumber(this.stageName, options.stageNumber, this.stages);
    this.stageDir = join(this.outputBase, stageDirName(this.stageName, this.stageNumber));
    this.hashAlgorithm = resolveHashAlgorithm(options.hashAlgorithm ?? env.STAGETRACE_HASH, "hashAlgorithm / STAGETRACE_HASH");
    this.manifestPath = options.enableManifest === false ? null : join(this.stageDir, MANIFEST_FILE);
    this.stageLogPath = join(this.stageDir, "stage.log");

    const runState = this.runState(env, start);
    this.pipelineLogPath = pipelineLogPath(this.outputBase, runState);
    this.telemetry.claimStageDir(this.stageDir, this);
    try {
      mkdirSync(this.stageDir, { recursive: true });
    } catch (err) {
      this.telemetry.warn(this.ioProblem(`cannot create stage directory ${this.stageDir}`, err));
    }

    const pipelineName = options.pipelineName ?? (env.STAGETRACE_PIPELINE?.trim() || null);
    const attributes: Attributes = {
      [ATTR.taskName]: this.stageName,
      [ATTR.taskRunId]: `${runState.run_id}/${stageDirName(this.stageName, this.stageNumber)}`,
      [ATTR.stageDir]: this.stageDir,
      [ATTR.runDir]: this.outputBase,
      [ATTR.stageLog]: this.stageLogPath,
      [ATTR.pipelineLog]: this.pipelineLogPath,
      [ATTR.pipelineRunId]: runState.run_id,
      [ATTR.processPid]: process.pid,
      [ATTR.processArgs]: process.argv.slice(),
      [ATTR.hostName]: hostname(),
      [ATTR.schemaVersion]: MANIFEST_SCHEMA_VERSION,
    };
    if (this.stageNumber !== null) attributes[ATTR.stageNumber] = this.stageNumber;
    if (pipelineName) attributes[ATTR.pipelineName] = pipelineName;
    if (this.manifestPath === null) attributes[ATTR.manifestDisabled] = true;

    // An active span (an in-process pipeline, a test) is the parent; else TRACEPARENT; else a new trace.
    const parent = trace.getSpan(context.active()) ? context.active() : contextFromEnv(context.active());
    this.span = this.telemetry.tracer.startSpan(
      STAGE_SPAN_PREFIX + this.stageName,
      { kind: SpanKind.INTERNAL, attributes, startTime: start },
      parent,
    );

    const consoleEnv = (env.STAGETRACE_CONSOLE ?? "").toLowerCase();
    this.logger = createStageLogger({
      stage: this.stageName,
      stageNumber: this.stageNumber,
      span: this.span,
      level: logLevel(env.STAGETRACE_LOG_LEVEL, "STAGETRACE_LOG_LEVEL"),
      stageLog: this.telemetry.logFiles.open(this.stageLogPath),
      pipelineLog: this.telemetry.logFiles.open(this.pipelineLogPath),
      otlp: this.telemetry.logDestination(),
      console: consoleEnv === "debug" ? "debug" : consoleEnv === "" || consoleEnv === "0" || consoleEnv === "off" ? "off" : "info",
      secrets: this.secrets,
    });
    this.logger.info({ stage_dir: this.stageDir }, `stage ${this.stageName} started`);
  }

  private runState(env: NodeJS.ProcessEnv, start: Date): RunState {
    try {
      return loadOrCreateRunState(this.outputBase, env, start);
    } catch (err) {
      this.telemetry.warn(this.ioProblem(`cannot record the run in ${this.outputBase}`, err));
      return { run_id: "unknown", started_at: start.toISOString(), pipeline_log: join("logs", "99_pipeline.log"), host: hostname() };
    }
  }

  private ioProblem(what: string, err: unknown): string {
    const e = err as NodeJS.ErrnoException;
    return `${what} (${e.code ?? "error"}: ${e.message}). The stage goes on, but its files may be incomplete: check OUTPUT_DIR permissions and free disk space.`;
  }

  /** The stage's final status, once `finalize()` has been called. */
  get status(): StageStatus | undefined {
    return this.finalStatus;
  }

  get isFinalized(): boolean {
    return this.finalizing !== undefined;
  }

  /**
   * The stage's pino logger: every line goes to stage.log (at `level` and
   * above, default DEBUG), INFO and above also to the run's pipeline log, and
   * to OTLP when an endpoint is set. The same logger is returned every time.
   */
  getStageLogger(level?: string): Logger {
    if (level !== undefined) this.logger.level = logLevel(level, "getStageLogger(level)");
    return this.logger;
  }

  /**
   * A file in another stage's directory (`fromStage`), or, without it, in the
   * previous stage's directory when the stage list is known, else in the run
   * directory.
   */
  getInputPath(filename: string, options: { fromStage?: string } = {}): string {
    let dir = this.outputBase;
    if (options.fromStage !== undefined) {
      dir = findStageDir(this.outputBase, options.fromStage, this.stages);
    } else if (this.stages && this.stageNumber !== null && this.stageNumber > 1) {
      const previous = this.stages[this.stageNumber - 2];
      if (previous !== undefined) dir = join(this.outputBase, stageDirName(previous, this.stageNumber - 1));
    }
    return pathInside(dir, filename, `getInputPath(${JSON.stringify(filename)})`);
  }

  /** A file in this stage's directory; creates the directories it needs. */
  getOutputPath(filename: string): string {
    const path = pathInside(this.stageDir, filename, `getOutputPath(${JSON.stringify(filename)})`);
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new StagetraceError("IO_ERROR", this.ioProblem(`cannot create ${dirname(path)}`, err), { cause: err });
    }
    return path;
  }

  trackInput(path: string, fileType = "file", metadata: Record<string, unknown> = {}): void {
    this.track("input", path, fileType, metadata, {});
  }

  trackOutput(path: string, fileType = "file", metadata: Record<string, unknown> = {}): void {
    this.track("output", path, fileType, metadata, {});
  }

  /** A cache or temp file: `retained` says whether it outlives the stage, `reason` why it exists. */
  trackIntermediate(path: string, options: { retained?: boolean; reason?: string; type?: string } = {}): void {
    this.track("intermediate", path, options.type ?? "intermediate", {}, {
      retained: options.retained ?? false,
      reason: options.reason ?? "",
    });
  }

  private track(
    role: FileRole,
    path: string,
    type: string,
    metadata: Record<string, unknown>,
    extra: { retained?: boolean; reason?: string },
  ): void {
    if (this.afterFinalize(`track${role[0]!.toUpperCase()}${role.slice(1)}(${JSON.stringify(path)})`)) return;
    if (typeof path !== "string" || path === "") {
      throw new StagetraceError("INVALID_PATH", `track ${role}: expected a file path, got ${JSON.stringify(path)}`);
    }
    const absolute = resolve(path);
    this.tracked.push({
      path: absolute,
      role,
      type: String(type),
      metadata,
      fromStage: this.fromStageOf(absolute),
      ...extra,
      time: Date.now(),
      fingerprint: fingerprint(absolute, this.hashAlgorithm),
    });
  }

  // A file inside another stage's directory of this run came from that stage.
  private fromStageOf(path: string): string | null {
    if (!path.startsWith(this.outputBase)) return null;
    const first = path.slice(this.outputBase.length + 1).split(/[\\/]/)[0] ?? "";
    const m = /^\d+_(.+)$/.exec(first);
    const name = m ? m[1]! : this.stages?.includes(first) ? first : null;
    return name === this.stageName ? null : name;
  }

  addConfig(key: string, value: unknown): void {
    this.setConfig({ [key]: value });
  }

  /** Records config as `stagetrace.config.<key>` attributes, nested keys flattened, secrets redacted. */
  setConfig(config: Record<string, unknown>): void {
    if (this.afterFinalize("setConfig()")) return;
    this.span.setAttributes(flattenToAttributes(ATTR.configPrefix, config, { secrets: this.secrets }));
  }

  addWarning(message: string): void {
    if (this.afterFinalize("addWarning()")) return;
    this.span.addEvent(WARNING_EVENT, { [WARNING_ATTR.message]: this.secrets.scrub(truncate(String(message))) });
  }

  /** Records an error: an `exception` event on the span (type, message, stack). Does not change the status by itself. */
  addError(message: string, error?: unknown): void {
    if (this.afterFinalize("addError()")) return;
    this.recordError(message, error);
  }

  private recordError(message: string, error?: unknown): void {
    const err = error instanceof Error ? error : undefined;
    const text = this.secrets.scrub(truncate(String(message)));
    const type = err ? err.name || err.constructor.name : "Error";
    this.firstErrorType ??= type;
    const attributes: Attributes = {
      [EXCEPTION_ATTR.type]: type,
      [EXCEPTION_ATTR.message]: err ? this.secrets.scrub(truncate(err.message)) : text,
      [EXCEPTION_ATTR.stageMessage]: text,
    };
    if (err?.stack) attributes[EXCEPTION_ATTR.stacktrace] = this.secrets.scrub(err.stack);
    this.span.addEvent(EXCEPTION_EVENT, attributes);
  }

  setResources(resources: Record<string, unknown>): void {
    if (this.afterFinalize("setResources()")) return;
    this.span.setAttributes(flattenToAttributes(ATTR.resourcePrefix, resources, { secrets: this.secrets }));
  }

  private afterFinalize(call: string): boolean {
    if (!this.finalizing) return false;
    this.telemetry.warn(`stage ${this.stageName}: ${call} after finalize() is ignored; the manifest is already written`);
    return true;
  }

  /**
   * Ends the stage: waits for pending fingerprints, records the status,
   * ends the span (which writes manifest.json) and flushes the stage's logs.
   * A second call warns and returns the first call's promise.
   */
  finalize(status: StageStatus = "success", options: { reason?: string; error?: string | Error } = {}): Promise<void> {
    if (this.finalizing) {
      if (status !== this.finalStatus) {
        this.telemetry.warn(
          `stage ${this.stageName}: finalize("${status}") called after finalize("${this.finalStatus}"); the first status stands`,
        );
      }
      return this.finalizing;
    }
    if (!(STAGE_STATUSES as readonly string[]).includes(status)) {
      throw new StagetraceError("INVALID_STATUS", `unknown stage status ${JSON.stringify(status)}; use one of ${STAGE_STATUSES.join(", ")}`);
    }
    this.finalStatus = status;
    this.finalizing = this.doFinalize(status, options);
    return this.finalizing;
  }

  private async doFinalize(status: StageStatus, options: { reason?: string; error?: string | Error }): Promise<void> {
    if (options.error !== undefined) this.recordError(messageOf(options.error), options.error);
    await this.recordTrackedFiles();

    const reason = options.reason ?? (options.error !== undefined ? messageOf(options.error) : undefined);
    this.endSpan(status, reason);
  }

  /** Records the outcome on the span and ends it, which writes manifest.json synchronously. */
  private endSpan(status: StageStatus, reason: string | undefined): void {
    const cpu = process.cpuUsage(this.cpuAtStart);
    this.span.setAttributes({ [ATTR.stageStatus]: status, [ATTR.taskResult]: TASK_RESULT[status] });
    if (this.commandResources) {
      for (const [k, v] of Object.entries(this.commandResources)) if (v !== null) this.span.setAttribute(ATTR.resourcePrefix + k, v);
    } else {
      this.span.setAttributes({
        [`${ATTR.resourcePrefix}cpu_user_ms`]: Math.round(cpu.user / 1000),
        [`${ATTR.resourcePrefix}cpu_system_ms`]: Math.round(cpu.system / 1000),
        [`${ATTR.resourcePrefix}peak_rss_mb`]: Math.round(process.resourceUsage().maxRSS / 1024),
      });
    }
    if (reason !== undefined) this.span.setAttribute(ATTR.stageStatusReason, this.secrets.scrub(truncate(reason)));
    if (status === "failed" || status === "interrupted") {
      this.span.setAttribute(ATTR.errorType, this.firstErrorType ?? status);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: reason ?? `stage ${status}` });
    } else {
      this.span.setStatus({ code: SpanStatusCode.OK });
    }
    this.span.end();
    this.telemetry.releaseStageDir(this.stageDir, this);
    const line = { status, ...(reason !== undefined ? { reason } : {}) };
    if (status === "failed") this.logger.error(line, `stage ${this.stageName} failed${reason ? `: ${reason}` : ""}`);
    else if (status === "interrupted") this.logger.warn(line, `stage ${this.stageName} interrupted${reason ? `: ${reason}` : ""}`);
    else this.logger.info(line, `stage ${this.stageName} ${status === "skipped" ? "skipped" : "finished"}`);
    this.telemetry.logFiles.flushAll();
  }

  /**
   * @internal For `stagetrace exec`: the resources of the command it ran,
   * recorded instead of this process's own CPU time and peak RSS.
   */
  recordCommandResources(resources: Record<string, number | null>): void {
    this.commandResources = resources;
  }

  /** At process exit (natural end): the stage never called finalize(), so it failed. */
  finalizeAbandoned(): Promise<void> {
    if (this.finalizing) return this.finalizing;
    this.addError(`stage ${this.stageName} ended without calling finalize()`);
    return this.finalize("failed", { reason: NOT_FINALIZED_REASON });
  }

  /**
   * At `process.exit()`, where nothing can be awaited: records the files
   * whose fingerprint is already known and ends the span, which writes the
   * manifest synchronously.
   */
  finalizeAbandonedSync(): void {
    if (this.finalizing) return;
    this.finalizing = Promise.resolve();
    this.finalStatus = "failed";
    this.recordError(`stage ${this.stageName} ended without calling finalize()`);
    for (const t of this.tracked) {
      this.addFileEvent(t, t.fingerprint instanceof Promise ? stillHashing(t) : t.fingerprint);
    }
    this.tracked.length = 0;
    this.endSpan("failed", NOT_FINALIZED_REASON);
  }

  private async recordTrackedFiles(): Promise<void> {
    for (const t of this.tracked) this.addFileEvent(t, await t.fingerprint);
    this.tracked.length = 0;
  }

  private addFileEvent(t: Tracked, fp: FileFingerprint): void {
    const attributes: Attributes = {
      [FILE_ATTR.role]: t.role,
      [FILE_ATTR.path]: fp.path,
      [FILE_ATTR.name]: fp.name,
      [FILE_ATTR.type]: t.type,
      [FILE_ATTR.kind]: fp.kind,
      [FILE_ATTR.exists]: fp.exists,
    };
    if (fp.size !== null) attributes[FILE_ATTR.size] = fp.size;
    if (fp.modified !== null) attributes[FILE_ATTR.modified] = fp.modified;
    if (fp.hash !== null && fp.hashAlgorithm !== null) {
      attributes[FILE_ATTR.hashAlgorithm] = fp.hashAlgorithm;
      attributes[FILE_ATTR.hashPrefix + fp.hashAlgorithm] = fp.hash;
    }
    if (t.fromStage !== null) attributes[FILE_ATTR.fromStage] = t.fromStage;
    if (t.role === "intermediate") {
      attributes[FILE_ATTR.retained] = t.retained ?? false;
      attributes[FILE_ATTR.reason] = this.secrets.scrub(t.reason ?? "");
    }
    flattenToAttributes(FILE_ATTR.metaPrefix, t.metadata, { secrets: this.secrets }, attributes);
    this.span.addEvent(FILE_EVENT, attributes, millisToHrTime(t.time));
    if (!fp.exists && !fp.problem) {
      this.span.addEvent(WARNING_EVENT, { [WARNING_ATTR.message]: `tracked ${t.role} ${fp.path} does not exist` });
    } else if (fp.problem) {
      this.span.addEvent(WARNING_EVENT, { [WARNING_ATTR.message]: fp.problem });
    }
  }

  /** Writes `data` as pretty JSON to this stage's directory (atomically) and returns the path. */
  saveJson(data: unknown, filename: string): string {
    const path = this.getOutputPath(filename);
    const text = JSON.stringify(data, null, 2);
    if (text === undefined) {
      throw new StagetraceError("INVALID_OPTION", `saveJson(${JSON.stringify(filename)}): the value cannot be written as JSON`);
    }
    writeFileAtomic(path, text + "\n");
    return path;
  }

  /** Reads JSON written by this or another stage (`fromStage`), with the same rules as `getInputPath`. */
  loadJson<T = unknown>(filename: string, options: { fromStage?: string } = {}): T {
    const path = this.getInputPath(filename, options);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new StagetraceError("NOT_FOUND", `loadJson: cannot read ${path} (${e.code ?? "error"}: ${e.message})`, { cause: err });
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new StagetraceError("INVALID_OPTION", `loadJson: ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Saves `metadata.json` in the stage directory and returns its path. */
  saveMetadata(metadata: Record<string, unknown>): string {
    return this.saveJson(metadata, "metadata.json");
  }
}
