import { context, ROOT_CONTEXT, SpanKind, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";
import { existsSync, mkdirSync } from "node:fs";
import { liveStageOwner } from "../run/load-run.js";
import { manifestPathIn } from "../manifest/manifest-file.js";
import { pathToFileURL } from "node:url";
import { hostname } from "node:os";
import { join } from "node:path";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { Logger } from "pino";
import { ATTR, MANIFEST_SCHEMA_VERSION, PROCESS_RESOURCE_ATTR, STAGE_SPAN_PREFIX } from "../conventions.js";
import { StagetraceError } from "../errors.js";
import { createStageLogger, writeRoutedLine } from "../log/stage-logger.js";
import {
  loadOrCreateRunState,
  pipelineLogPath,
  resolveRunDir,
  resolveStageNumber,
  resolveStages,
  checkedStageDirName,
  stageDirName,
  validateStageName,
  type RunState,
} from "../run/run-directory.js";
import { holdLease } from "../run/lease.js";
import { runParentContext } from "../run/run-parent.js";
import {
  activeTelemetry,
  contextFromEnv,
  initTelemetry,
  processResourceAttributes,
  withChosenIds,
  type OpenStage,
  type Telemetry,
} from "../telemetry/telemetry.js";
import type { StageHeartbeat } from "../telemetry/heartbeat.js";
import { fromOption } from "../config/env-rules.js";
import { logLevelOf, stagetraceSettings } from "../config/stagetrace-settings.js";
import type { FileRole, FinalizeOptions, StageOptions, StageStatus, TrackOptions } from "../types.js";
import { redactArgv, SecretValues } from "../values/redaction.js";
import { FileTracking } from "./file-tracking.js";
import { confineStageDir, inputPath, ioProblem, loadJsonAt, outputPath, saveJsonAt } from "./stage-paths.js";
import { NOT_FINALIZED_REASON, StageEnd } from "./stage-end.js";
import { StageValues } from "./stage-values.js";
import { RecordingSpan } from "./recording-span.js";
import { keepStageSpanRecord, StageSpanRecord } from "../../exporters/stage-span-records.js";

export { NOT_FINALIZED_REASON };

/** True for a span stagetrace can read back (the SDK's own spans); a no-op span from an app's provider is not. */
function isReadable(span: Span): span is Span & ReadableSpan {
  const s = span as Partial<ReadableSpan>;
  return typeof s.ended === "boolean" && typeof s.attributes === "object" && Array.isArray(s.events);
}

/**
 * A stage whose process hands its records to the run's agent (src/agent/):
 * the agent's StageIO is that stage, so the span, manifest and log lines
 * name the stage's process, environment and ids, not the agent's.
 * @internal
 */
export interface StageClient {
  /** The stage process's environment (its `STAGETRACE_*` and `OUTPUT_DIR` variables). */
  env: NodeJS.ProcessEnv;
  pid: number;
  host: string;
  argv: string[];
  start: Date;
  /** The stage span's ids, chosen by the stage process. */
  traceId: string;
  spanId: string;
  /** The stage span's parent, or null for a root span. */
  parent: Context | null;
  /** Whether the stage process's stderr is a terminal. */
  stderrTTY: boolean;
  /**
   * The stage process's `host.*` and `process.*` resource attributes. With
   * them (and `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME` in `env`),
   * the stage's span, log records and heartbeats have the resource the
   * process would have given them; without, the agent's, with the process
   * named on the span.
   */
  resource?: Attributes;
}

/** A client's resource attributes with the secrets in its command line censored, as this process's own are (`redactArgv`). */
function censoredArgs(resource: Attributes): Attributes {
  const args = resource[PROCESS_RESOURCE_ATTR.processCommandArgs];
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) return resource;
  return { ...resource, [PROCESS_RESOURCE_ATTR.processCommandArgs]: redactArgv(args) };
}

/**
 * One stage of a pipeline: its directory, its span, its logs and what it
 * tracks. Create it at the start of the stage and `await finalize()` at the end
 * (or let `runStage` do both).
 */
export class StageIO implements OpenStage {
  /** The stage's name, as given to the constructor. */
  readonly stageName: string;
  /** The `NN` of the stage directory `NN_<name>`, or null when the stage has no number. */
  readonly stageNumber: number | null;
  /** The run directory shared by every stage of the run. */
  readonly outputBase: string;
  /** This stage's directory, `<run dir>/NN_<name>`. */
  readonly stageDir: string;
  /**
   * The pipeline's stage names in order (option `stages`, `STAGETRACE_STAGES` or `stagetrace.json`), or null when unknown.
   */
  readonly stages: readonly string[] | null;
  /**
   * The stage's span; child spans started while it is active nest under it.
   * What the stage's code sets on it reaches the manifest as what stagetrace
   * sets does: on an app's tracer provider it is written to the span and to
   * the stage's own record, whatever that provider's span limits.
   */
  readonly span: Span;
  /** This stage's `stage.log` (every line at the logger's level and above). */
  readonly stageLogPath: string;
  /** The run's pipeline log, `<run dir>/logs/99_pipeline_<run start>.log` (INFO and above from every stage). */
  readonly pipelineLogPath: string;
  /** This stage's `manifest.json`, or null when `enableManifest` is false. */
  readonly manifestPath: string | null;

  private readonly telemetry: Telemetry;
  /** The span as the tracer started it; on an app's provider `span` writes to it and to the stage's own record. */
  private readonly started: Span;
  private readonly secrets = new SecretValues();
  private readonly files: FileTracking;
  private readonly values: StageValues;
  private readonly end: StageEnd;
  private readonly logger: Logger;
  /** Strict mode: a local file stagetrace cannot write fails the stage (see StageOptions.strict). */
  readonly strict: boolean;
  /** Heartbeat metrics while the stage is open (only with an OTLP endpoint). */
  private heartbeat: StageHeartbeat | undefined;
  /** The stage's lease in its directory, renewed while it runs (see run/lease.ts). */
  private lease: { stop(): void } | undefined;

  /** The stage process this StageIO stands for, when the run's agent hosts it; undefined in the stage's own process. */
  private readonly client: StageClient | undefined;

  constructor(stageName: string, options: StageOptions = {}, client?: StageClient) {
    this.client = client;
    const env = client?.env ?? process.env;
    // Every setting is resolved by src/config: an option beats the environment, a bad value warns once.
    // A hosted stage's console default follows its own process's stderr, not the agent's.
    const settings = stagetraceSettings(env, (m) => this.telemetry.warn(m), { stderrTTY: client?.stderrTTY });
    const start = client?.start ?? new Date();
    this.stageName = validateStageName(stageName);
    this.telemetry = activeTelemetry() ?? initTelemetry(options.telemetry);
    this.outputBase = resolveRunDir(options.outputBase, env, start);
    const setupProblems: string[] = [];
    const runState = this.runState(env, start, setupProblems);
    this.stages = resolveStages(options.stages, env, this.outputBase, runState, this.telemetry.warn);
    this.stageNumber = resolveStageNumber(this.stageName, options.stageNumber, this.stages);
    this.stageDir = join(this.outputBase, checkedStageDirName(this.stageName, this.stageNumber));
    const hashAlgorithm = settings.hashAlgorithm(options.hashAlgorithm);
    this.manifestPath = options.enableManifest === false ? null : manifestPathIn(this.stageDir);
    this.stageLogPath = join(this.stageDir, "stage.log");

    this.strict = settings.strict(options.strict);
    this.pipelineLogPath = pipelineLogPath(this.outputBase, runState, this.telemetry.warn);
    // Made here, the directory holds no manifest of another process to check.
    let madeStageDir = false;
    try {
      madeStageDir = mkdirSync(this.stageDir, { recursive: true }) !== undefined;
    } catch (err) {
      setupProblems.push(this.ioProblem(`cannot create stage directory ${this.stageDir}`, err));
    }
    confineStageDir(this.outputBase, this.stageDir);
    // Two processes on one stage of one run would overwrite each other's record: the second refuses.
    // (A hosted stage's process checked before it handed the stage to the agent.)
    const owner = this.manifestPath === null || client || madeStageDir ? null : liveStageOwner(this.manifestPath);
    if (owner !== null) {
      throw new StagetraceError(
        "STAGE_RUNNING",
        `stage ${this.stageName} is already running in process ${owner} on this host (${this.manifestPath} says so); not starting it twice. Wait for it, or use another run directory`,
      );
    }
    if (this.strict && setupProblems.length > 0) {
      throw new StagetraceError("IO_ERROR", `stage ${this.stageName} (strict mode): ${setupProblems[0]}`);
    }
    for (const problem of setupProblems) this.telemetry.warn(problem);
    // A hosted stage is not open in the agent's process: the run's own span and exports decide when that process ends.
    if (!client) this.telemetry.claimStageDir(this.stageDir, this);

    const pipelineName = options.pipelineName ?? (settings.pipeline() || runState.pipeline || null);
    const attributes: Attributes = {
      [ATTR.taskName]: this.stageName,
      [ATTR.taskRunId]: `${runState.run_id}/${stageDirName(this.stageName, this.stageNumber)}`,
      [ATTR.stageDir]: this.stageDir,
      [ATTR.runDir]: this.outputBase,
      [ATTR.stageLog]: this.stageLogPath,
      [ATTR.pipelineLog]: this.pipelineLogPath,
      [ATTR.pipelineRunId]: runState.run_id,
      [ATTR.schemaVersion]: MANIFEST_SCHEMA_VERSION,
    };
    // The process is the resource's: a hosted stage's, made from what its process sent. A client
    // that sent none names its process on the span (the resource is then the agent's).
    const resource = client?.resource ? this.telemetry.resourceOfStageProcess(censoredArgs(client.resource), client.env) : undefined;
    if (client && !resource) {
      attributes[ATTR.processPid] = client.pid;
      attributes[ATTR.processArgs] = redactArgv(client.argv);
      attributes[ATTR.hostName] = client.host;
    }
    attributes[ATTR.taskRunUrl] = taskRunUrl(
      settings.taskUrl(),
      {
        run_id: runState.run_id,
        stage: this.stageName,
        task_run_id: attributes[ATTR.taskRunId] as string,
      },
      manifestPathIn(this.stageDir),
    );
    if (this.stageNumber !== null) attributes[ATTR.stageNumber] = this.stageNumber;
    if (pipelineName) attributes[ATTR.pipelineName] = pipelineName;
    if (this.manifestPath === null) attributes[ATTR.manifestDisabled] = true;

    // An active span (an in-process pipeline, a test) is the parent; else TRACEPARENT; else the run span
    // recorded in the run state (a task that got only the run directory); else a new trace.
    // A hosted stage's process resolved its parent the same way, and chose the span's ids.
    let parent: Context;
    if (client) parent = client.parent ?? ROOT_CONTEXT;
    else {
      parent = trace.getSpan(context.active()) ? context.active() : contextFromEnv(context.active());
      if (!trace.getSpanContext(parent) && runState.trace) parent = runParentContext(runState.trace, parent);
    }
    const tracer = resource ? this.telemetry.tracerOf(resource) : this.telemetry.tracer;
    const startSpan = () =>
      tracer.startSpan(STAGE_SPAN_PREFIX + this.stageName, { kind: SpanKind.INTERNAL, attributes, startTime: start }, parent);
    this.started = client ? withChosenIds(client, startSpan) : startSpan();
    this.telemetry.adoptAppResource(this.started);
    this.span = this.recordedSpan(attributes);
    this.files = new FileTracking(this.span, {
      stageName: this.stageName,
      outputBase: this.outputBase,
      stages: this.stages,
      hashAlgorithm,
      fingerprints: this.telemetry.fingerprints,
      secrets: this.secrets,
      warn: this.telemetry.warn,
    });
    this.values = new StageValues(this.span, this.secrets);
    this.end = new StageEnd({
      stage: this,
      stageName: this.stageName,
      stageDir: this.stageDir,
      manifestPath: this.manifestPath,
      logPaths: [this.stageLogPath, this.pipelineLogPath],
      strict: this.strict,
      span: this.span,
      telemetry: this.telemetry,
      files: this.files,
      values: this.values,
      secrets: this.secrets,
      logger: () => this.logger,
      heartbeat: () => this.heartbeat,
      lease: () => this.lease,
      outputBase: this.outputBase,
      runId: runState.run_id,
      ioProblem: (what, err) => this.ioProblem(what, err),
      hosted: client !== undefined,
    });

    const wroteRunning = this.writeRunningManifest(setupProblems);
    // Readers on other hosts cannot see this process: the lease says it is still here.
    // Only a stage with a running manifest on disk has anything for a reader to judge.
    if (this.manifestPath !== null && (wroteRunning || existsSync(this.manifestPath)))
      this.lease = holdLease(this.stageDir, settings.leaseTimeoutS(), this.telemetry.warn);
    const stageLog = this.telemetry.logFiles.open(this.stageLogPath, this.outputBase);
    const pipelineLog = this.telemetry.logFiles.open(this.pipelineLogPath, this.outputBase);
    for (const file of [stageLog, pipelineLog]) if (file.problem !== null) setupProblems.push(file.problem);
    if (this.strict && setupProblems.length > 0) {
      // The span has started: end it as failed (the backend hears of it), then refuse to run the stage.
      throw this.end.failSetup(`stage ${this.stageName} (strict mode): ${setupProblems[0]}`);
    }

    this.logger = createStageLogger({
      stage: this.stageName,
      stageNumber: this.stageNumber,
      span: this.span,
      level: settings.logLevel(),
      stageLog,
      pipelineLog,
      otlp: resource ? (this.telemetry.logDestination()?.sinkFor(resource) ?? null) : this.telemetry.logDestination(),
      console: settings.console(),
      pid: client?.pid ?? process.pid,
      secrets: this.secrets,
      onLine: () => this.heartbeat?.progress(),
    });
    this.logger.info({ stage_dir: this.stageDir }, `stage ${this.stageName} started`);
    this.heartbeat = this.telemetry.heartbeat?.start(attributes, this.span.spanContext().traceId, resource);
  }

  /**
   * On an app's tracer provider, whose span limits may drop events and
   * attributes or cut values, the stage keeps its own record of them, which
   * its manifest is built from; the span exported carries what the limits allow.
   * stagetrace's own provider has no limits: its span is the record.
   */
  private recordedSpan(attributes: Attributes): Span {
    if (this.telemetry.provider !== null) return this.started;
    // The app's resource may lack the host and pid the manifest (and `run` judging the stage) needs.
    const record = new StageSpanRecord(processResourceAttributes());
    record.setAttributes(attributes);
    keepStageSpanRecord(this.started.spanContext(), record);
    return new RecordingSpan(this.started, record);
  }

  /**
   * @internal For `stagetrace exec`: the command line of the command it
   * runs (secrets censored), recorded as the stage's `process.command_args`.
   */
  recordCommandLine(argv: string[]): void {
    this.span.setAttribute(ATTR.processArgs, argv);
  }

  /**
   * The manifest a stage has while it runs: `status: "running"`, no end, and
   * the pid, host, start time and trace ids, written atomically. If the
   * process is killed before it can finalize, this is what stays on disk.
   * True when it was written.
   */
  private writeRunningManifest(problems: string[]): boolean {
    if (this.manifestPath === null || !isReadable(this.started)) return false;
    try {
      return this.telemetry.manifestExporter.writeRunningManifest(this.started);
    } catch (err) {
      const problem = this.ioProblem(`cannot write the running manifest ${this.manifestPath}`, (err as Error).cause ?? err);
      problems.push(problem);
      if (!this.strict) this.telemetry.warn(problem);
      return false;
    }
  }

  private runState(env: NodeJS.ProcessEnv, start: Date, problems: string[]): RunState {
    try {
      return loadOrCreateRunState(this.outputBase, env, start);
    } catch (err) {
      problems.push(this.ioProblem(`cannot record the run in ${this.outputBase}`, err));
      return { run_id: "unknown", started_at: start.toISOString(), pipeline_log: join("logs", "99_pipeline.log"), host: hostname() };
    }
  }

  private ioProblem(what: string, err: unknown): string {
    return ioProblem(what, err);
  }

  /** The stage's final status, once `finalize()` has been called. */
  get status(): StageStatus | undefined {
    return this.end.finalStatus;
  }

  /** True once `finalize()` has been called (or stagetrace finalized the stage at exit or on a signal). */
  get isFinalized(): boolean {
    return this.end.finalizing !== undefined;
  }

  /**
   * The stage's pino logger: every line goes to stage.log (at `level` and
   * above, default DEBUG), INFO and above also to the run's pipeline log, and
   * to OTLP when an endpoint is set. The same logger is returned every time.
   */
  getStageLogger(level?: string): Logger {
    if (level !== undefined) this.logger.level = fromOption(level, "getStageLogger(level)", logLevelOf)!;
    return this.logger;
  }

  /**
   * A file in another stage's directory (`fromStage`), or, without it, in the
   * previous stage's directory when the stage list is known, else in the run
   * directory.
   */
  getInputPath(filename: string, options: { fromStage?: string } = {}): string {
    return inputPath(this, filename, options);
  }

  /** A file in this stage's directory; creates the directories it needs. */
  getOutputPath(filename: string): string {
    return outputPath(this.stageDir, filename);
  }

  /**
   * Records a file the stage reads: path, kind, size, modification time and
   * content hash (`hashAlgorithm`, sha256 by default). Returns at once; a
   * large file is hashed without blocking the event loop, and `finalize()`
   * waits for it. `{ hash: false }` skips the hash for this file (a huge
   * media file, say): size and mtime still identify it. A file another stage
   * of the run wrote and tracked, unchanged since, is not read again: its
   * hash comes from that stage (see `STAGETRACE_REUSE_HASHES`).
   */
  trackInput(path: string, fileType = "file", metadata: Record<string, unknown> = {}, options: TrackOptions = {}): void {
    this.track("input", path, fileType, metadata, {}, options);
  }

  /** Records a file the stage wrote; the same as `trackInput` otherwise. Later stages reuse its hash. */
  trackOutput(path: string, fileType = "file", metadata: Record<string, unknown> = {}, options: TrackOptions = {}): void {
    this.track("output", path, fileType, metadata, {}, options);
  }

  /**
   * A cache or temp file: `retained` says whether it outlives the stage,
   * `reason` why it exists, `hash: false` skips its content hash.
   */
  trackIntermediate(path: string, options: { retained?: boolean; reason?: string; type?: string } & TrackOptions = {}): void {
    this.track(
      "intermediate",
      path,
      options.type ?? "intermediate",
      {},
      { retained: options.retained ?? false, reason: options.reason ?? "" },
      options,
    );
  }

  private track(
    role: FileRole,
    path: string,
    type: string,
    metadata: Record<string, unknown>,
    extra: { retained?: boolean; reason?: string },
    options: TrackOptions,
  ): void {
    if (this.end.finalizing && this.afterFinalize(`track${role[0]!.toUpperCase()}${role.slice(1)}(${JSON.stringify(path)})`)) return;
    this.files.track(role, path, type, metadata, extra, options);
    this.heartbeat?.progress();
  }

  /**
   * Treats `value` as a secret from now on: it is replaced by `[REDACTED]`
   * in every log line, warning, error and reason of this stage (values under
   * 6 characters are ignored).
   * @internal
   */
  rememberSecret(value: string): void {
    this.secrets.remember(value);
  }

  /**
   * Resolves once every file tracked so far has its fingerprint, large files
   * included (`stagetrace exec` waits for its `--input` files before it
   * starts the command, which may rewrite them).
   * @internal
   */
  filesFingerprinted(): Promise<void> {
    return this.files.allFingerprinted();
  }

  /** Records one config value; the same as `setConfig({ [key]: value })`. */
  addConfig(key: string, value: unknown): void {
    this.setConfig({ [key]: value });
  }

  /** Records config as `stagetrace.config.<key>` attributes, nested keys flattened, secrets redacted. */
  setConfig(config: Record<string, unknown>): void {
    if (this.afterFinalize("setConfig()")) return;
    this.values.setConfig(config);
  }

  /**
   * Records a warning: a `stagetrace.warning` event on the span and an entry of the manifest's `warnings`. Secrets are scrubbed.
   */
  addWarning(message: string): void {
    if (this.afterFinalize("addWarning()")) return;
    this.heartbeat?.progress();
    this.values.addWarning(message);
  }

  /** Records an error: an `exception` event on the span (type, message, stack). Does not change the status by itself. */
  addError(message: string, error?: unknown): void {
    if (this.afterFinalize("addError()")) return;
    this.values.addError(message, error);
  }

  /**
   * Records resource figures of your own as `stagetrace.resource.<key>`; CPU time and peak RSS are added at `finalize()`. Name keys after their unit (`memory_mb`).
   */
  setResources(resources: Record<string, unknown>): void {
    if (this.afterFinalize("setResources()")) return;
    this.values.setResources(resources);
  }

  private afterFinalize(call: string): boolean {
    if (!this.end.finalizing) return false;
    this.telemetry.warn(`stage ${this.stageName}: ${call} after finalize() is ignored; the manifest is already written`);
    return true;
  }

  /**
   * Ends the stage: waits for pending fingerprints, records the status,
   * ends the span (which writes manifest.json) and flushes the stage's logs.
   * `saveManifest: false` leaves no manifest.json (the span still ends and is
   * exported); any other field of `options` is recorded in the manifest's
   * `extra` and as `stagetrace.extra.<key>` on the span.
   * A second call warns and returns the first call's promise.
   */
  finalize(status: StageStatus = "success", options: FinalizeOptions = {}): Promise<void> {
    return this.end.finalize(status, options);
  }

  /**
   * Ends the stage at once, awaiting nothing: on SIGINT/SIGTERM, an uncaught
   * exception, or `process.exit()`. Files whose hash is not finished are
   * recorded without one (and a warning says so). If `finalize()` was already
   * called and is waiting for hashes, its status and reason stand; otherwise
   * the stage gets `status` and `reason`. Does nothing once the span ended.
   * @internal
   */
  finalizeNow(
    status: StageStatus,
    reason: string,
    options: { error?: unknown; message?: string; when?: string; exitCode?: number } = {},
  ): void {
    this.end.finalizeNow(status, reason, options);
  }

  /**
   * @internal For the run's agent: a log line the stage's process formatted
   * with its own logger (`level` is pino's number), written to stage.log,
   * the pipeline log and OTLP as the stage's own logger would.
   */
  writeClientLine(line: string, level: number): void {
    writeRoutedLine(this.logger, line, level);
  }

  /**
   * @internal For the run's agent: when the stage's process ended the stage
   * (epoch milliseconds), the span's end time.
   */
  setEndTime(endMs: number): void {
    this.end.endTime = endMs;
  }

  /**
   * @internal For the run's agent: the stage's process was killed, which the
   * conventions call `error` (the task result), not a cancellation.
   */
  markKilled(): void {
    this.end.taskResult = "error";
    // As for a stage killed in-process: its log ends with its last line, and that line is on disk now.
    this.end.quietEnd = true;
    this.telemetry.logFiles.flushAll();
  }

  /**
   * @internal For `stagetrace exec`: the resources of the command it ran,
   * recorded instead of this process's own CPU time and peak RSS.
   */
  recordCommandResources(resources: Record<string, number | null>): void {
    this.end.recordCommandResources(resources);
  }

  /**
   * At process exit (natural end): the stage never called finalize(), so it
   * failed, and so does the process: its exit code becomes 1 unless it already
   * chose a non-zero one.
   */
  finalizeAbandoned(): Promise<void> {
    if (this.client) {
      this.finalizeAbandonedSync();
      return Promise.resolve();
    }
    return this.end.finalizeAbandoned();
  }

  /**
   * At `process.exit()`, where nothing can be awaited: records the files
   * whose fingerprint is already known and ends the span, which writes the
   * manifest synchronously. A finalize() still waiting for hashes keeps its status.
   */
  finalizeAbandonedSync(exitCode?: number): void {
    // The agent's process is ending under a stage it hosts: the stage's own process may live on, its records in the spool.
    if (this.client) this.end.finalizeNow("interrupted", "the run's agent exited before the stage ended", { when: "the agent exited" });
    else this.end.finalizeAbandonedSync(exitCode);
  }

  /** Writes `data` as pretty JSON to this stage's directory (atomically) and returns the path. */
  saveJson(data: unknown, filename: string): string {
    return saveJsonAt(this.getOutputPath(filename), data, filename);
  }

  /** Reads JSON written by this or another stage (`fromStage`), with the same rules as `getInputPath`. */
  loadJson<T = unknown>(filename: string, options: { fromStage?: string } = {}): T {
    return loadJsonAt<T>(this.getInputPath(filename, options));
  }

  /** Saves `metadata.json` in the stage directory and returns its path. */
  saveMetadata(metadata: Record<string, unknown>): string {
    return this.saveJson(metadata, "metadata.json");
  }
}

/**
 * `cicd.pipeline.task.run.url.full`: `STAGETRACE_TASK_URL` with `{run_id}`,
 * `{stage}` and `{task_run_id}` filled in (URL-encoded), e.g.
 * `https://ci.example.com/runs/{run_id}/{stage}`; without it, the file URL
 * of the stage's manifest.
 */
export function taskRunUrl(
  template: string | undefined,
  values: Record<"run_id" | "stage" | "task_run_id", string>,
  manifestFile: string,
): string {
  if (template?.trim())
    return template.trim().replace(/\{(run_id|stage|task_run_id)\}/g, (_m, k: keyof typeof values) => encodeURIComponent(values[k]));
  return pathToFileURL(manifestFile).href;
}
