import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";
import { millisToHrTime } from "@opentelemetry/core";
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { isInside } from "../fs/safe-read.js";
import { liveStageOwner } from "../run/load-run.js";
import type { ReadableSpan, SpanLimits, TimedEvent } from "@opentelemetry/sdk-trace-base";
import type { Logger, LevelWithSilent } from "pino";
import {
  ATTR,
  EXCEPTION_ATTR,
  EXCEPTION_EVENT,
  FILE_ATTR,
  FILE_EVENT,
  MANIFEST_FILE,
  MANIFEST_SCHEMA_VERSION,
  STAGE_SPAN_PREFIX,
  STAGE_STATUSES,
  TASK_RESULT,
  WARNING_ATTR,
  WARNING_EVENT,
} from "../conventions.js";
import { StagetraceError } from "../errors.js";
import { createStageLogger } from "../log/stage-logger.js";
import { fileEventAttributes, type FileEventFields } from "../manifest/file-event.js";
import { manifestTextFromSpan } from "../manifest/manifest-from-span.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { errnoText } from "../fs/errno-text.js";
import {
  findStageDir,
  loadOrCreateRunState,
  pathInside,
  pipelineLogPath,
  resolveRunDir,
  resolveStageNumber,
  resolveStages,
  checkedStageDirName,
  stageDirName,
  validateStageName,
  type RunState,
} from "../run/run-directory.js";
import { DEFAULT_LEASE_TIMEOUT_S, holdLease } from "../run/lease.js";
import { refreshPipelineAfterRerun } from "../run/pipeline-update.js";
import { runParentContext } from "../run/run-directory.js";
import { activeTelemetry, contextFromEnv, initTelemetry, type OpenStage, type Telemetry } from "../telemetry/telemetry.js";
import type { StageHeartbeat } from "../telemetry/heartbeat.js";
import { envFlag, numberFromEnv } from "../telemetry/telemetry-config.js";
import type { FileRole, FinalizeOptions, StageOptions, StageStatus, TrackOptions } from "../types.js";
import { fingerprint, isUri, resolveHashAlgorithm, uriFingerprint, type FileFingerprint } from "../fs/file-fingerprint.js";
import { flattenToAttributes, truncate } from "../values/recorded-values.js";
import { redactArgv, redactUrl, SecretValues } from "../values/redaction.js";

/** What is known of a file whose hash was not finished when the stage had to end (`when`: "the process exited"). */
function stillHashing(t: Tracked, when: string): FileFingerprint {
  return {
    path: t.path,
    name: basename(t.path),
    kind: "file",
    exists: true,
    size: null,
    modified: null,
    hash: null,
    hashAlgorithm: null,
    problem: `${t.path} was still being hashed when ${when}`,
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
  /** Its file event is on the span. */
  recorded?: boolean;
}

const LOG_LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** A log level; a bad option throws, a bad environment value (`warn` given) warns once and falls back to debug. */
function logLevel(value: string | undefined, source: string, warn?: (message: string) => void): LevelWithSilent {
  const level = (value ?? "debug").toLowerCase().replace(/^warning$/, "warn");
  if (!LOG_LEVELS.has(level)) {
    const problem = `${source}: unknown log level ${JSON.stringify(value)}; use debug, info, warn, error`;
    if (!warn) throw new StagetraceError("INVALID_OPTION", problem);
    warn(`${problem}; using debug`);
    return "debug";
  }
  return level as LevelWithSilent;
}

function messageOf(error: unknown): string {
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

/**
 * Which lines a stage also prints on stderr: `STAGETRACE_CONSOLE` `off`/`0`,
 * `info` (or any other value) and `debug`; unset, INFO and up when stderr is a
 * terminal (so a first run does not look dead), nothing when it is not (a
 * pipeline's captured output stays clean).
 */
function consoleMode(value: string, warn: (message: string) => void): "off" | "info" | "debug" {
  const byDefault = process.stderr.isTTY ? "info" : "off";
  if (value === "") return byDefault;
  if (value === "debug") return "debug";
  if (value === "0" || value === "off") return "off";
  if (value === "info" || value === "1" || value === "on") return "info";
  warn(`STAGETRACE_CONSOLE=${JSON.stringify(value)} is not off, info or debug; using ${byDefault}`);
  return byDefault;
}

/** The reason recorded for a stage the process left without calling finalize(). */
export const NOT_FINALIZED_REASON = "finalize() was not called";

/** True for a span stagetrace can read back (the SDK's own spans); a no-op span from an app's provider is not. */
function isReadable(span: Span): span is Span & ReadableSpan {
  const s = span as Partial<ReadableSpan>;
  return typeof s.ended === "boolean" && typeof s.attributes === "object" && Array.isArray(s.events);
}

/** An absolute POSIX path that `resolve` would return unchanged (no `.`, `..`, `//` or trailing `/`); cheaper to check than to resolve. */
/** The hash algorithm: the option (a bad one throws), else STAGETRACE_HASH (a bad one warns once and falls back to sha256). */
function hashAlgorithmFor(option: string | undefined, env: NodeJS.ProcessEnv, warn: (message: string) => void): string {
  if (option !== undefined) return resolveHashAlgorithm(option, "hashAlgorithm");
  try {
    return resolveHashAlgorithm(env.STAGETRACE_HASH, "STAGETRACE_HASH");
  } catch (err) {
    warn(`${(err as Error).message}; using sha256`);
    return "sha256";
  }
}

/** A stage directory that is a symlink leading out of the run would put every file of the stage elsewhere: refused. */
function confineStageDir(runDir: string, stageDir: string): void {
  let real: string;
  try {
    if (!lstatSync(stageDir).isSymbolicLink()) return;
    real = realpathSync(stageDir);
    if (isInside(realpathSync(runDir), real)) return;
  } catch {
    return; // nothing there (it could not be created): said already
  }
  throw new StagetraceError("INVALID_PATH", `stage directory ${stageDir} is a symlink to ${real}, outside the run directory ${runDir}; remove it`);
}

function isPlainAbsolute(path: string): boolean {
  return sep === "/" && path[0] === "/" && !path.includes("/.") && !path.includes("//") && (path.length === 1 || !path.endsWith("/"));
}

/**
 * The event list of a span whose `addEvent` would store a file event's
 * attributes unchanged, or null. `addEvent` copies each attribute object
 * twice (sanitising it, then counting it against the per-event limit) and
 * checks every value's length: for 100,000 small files, a sixth of the
 * tracking time. A file event's attributes are made of checked values
 * (strings, numbers, booleans, arrays of one primitive type), so on an SDK
 * span whose event, per-event attribute and value-length limits are all
 * unbounded (stagetrace's own provider, unless a value-length limit is set
 * through the environment), appending the event gives what `addEvent`
 * would. Any other span, or an SDK without these fields, gets `addEvent`.
 */
function directEvents(span: Span): TimedEvent[] | null {
  const s = span as unknown as { events?: unknown; _spanLimits?: SpanLimits; _attributeValueLengthLimit?: unknown };
  const limits = s._spanLimits;
  if (!Array.isArray(s.events) || limits === undefined) return null;
  const unbounded =
    limits.eventCountLimit === Infinity && limits.attributePerEventCountLimit === Infinity && s._attributeValueLengthLimit === Infinity;
  return unbounded ? (s.events as TimedEvent[]) : null;
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
  /** The stage's span; child spans started while it is active nest under it. */
  readonly span: Span;
  /** This stage's `stage.log` (every line at the logger's level and above). */
  readonly stageLogPath: string;
  /** The run's pipeline log, `<run dir>/logs/99_pipeline_<run start>.log` (INFO and above from every stage). */
  readonly pipelineLogPath: string;
  /** This stage's `manifest.json`, or null when `enableManifest` is false. */
  readonly manifestPath: string | null;

  private readonly telemetry: Telemetry;
  private readonly hashAlgorithm: string;
  private reuse: boolean | undefined;
  private readonly secrets = new SecretValues();
  /** Tracked files whose event is not on the span yet: each waits for its hash, or for an earlier one's. */
  private readonly tracked: Tracked[] = [];
  /** Outputs and intermediates recorded so far, for the fingerprint index later stages reuse hashes from. */
  private readonly written: FileFingerprint[] = [];
  /** sourceOf's answer for each directory of the run directory seen so far. */
  private readonly sources = new Map<string, { stage: string; dir: string } | null>();
  /** Where file events are appended directly (see directEvents); null: through addEvent. */
  private readonly fileEvents: TimedEvent[] | null;
  private readonly logger: Logger;
  private readonly cpuAtStart = process.cpuUsage();
  private finalizing: Promise<void> | undefined;
  private finalStatus: StageStatus | undefined;
  private finalReason: string | undefined;
  private spanEnded = false;
  /** finalize() was told `saveManifest: false`. */
  private manifestDropped = false;
  private firstErrorType: string | undefined;
  /** Strict mode: a local file stagetrace cannot write fails the stage (see StageOptions.strict). */
  readonly strict: boolean;
  private commandResources: Record<string, number | null> | undefined;
  /** Heartbeat metrics while the stage is open (only with an OTLP endpoint). */
  private heartbeat: StageHeartbeat | undefined;
  /** The stage's lease in its directory, renewed while it runs (see run/lease.ts). */
  private lease: { stop(): void } | undefined;
  /** The run's id. */
  private readonly runId: string;

  constructor(stageName: string, options: StageOptions = {}) {
    const env = process.env;
    const start = new Date();
    this.stageName = validateStageName(stageName);
    this.telemetry = activeTelemetry() ?? initTelemetry(options.telemetry);
    this.outputBase = resolveRunDir(options.outputBase, env, start);
    const setupProblems: string[] = [];
    const runState = this.runState(env, start, setupProblems);
    this.runId = runState.run_id;
    this.stages = resolveStages(options.stages, env, this.outputBase, runState, this.telemetry.warn);
    this.stageNumber = resolveStageNumber(this.stageName, options.stageNumber, this.stages);
    this.stageDir = join(this.outputBase, checkedStageDirName(this.stageName, this.stageNumber));
    this.hashAlgorithm = hashAlgorithmFor(options.hashAlgorithm, env, this.telemetry.warn);
    this.manifestPath = options.enableManifest === false ? null : join(this.stageDir, MANIFEST_FILE);
    this.stageLogPath = join(this.stageDir, "stage.log");

    this.strict = options.strict ?? envFlag(env, "STAGETRACE_STRICT", false, this.telemetry.warn);
    this.pipelineLogPath = pipelineLogPath(this.outputBase, runState, this.telemetry.warn);
    try {
      mkdirSync(this.stageDir, { recursive: true });
    } catch (err) {
      setupProblems.push(this.ioProblem(`cannot create stage directory ${this.stageDir}`, err));
    }
    confineStageDir(this.outputBase, this.stageDir);
    // Two processes on one stage of one run would overwrite each other's record: the second refuses.
    const owner = this.manifestPath === null ? null : liveStageOwner(this.manifestPath);
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
    this.telemetry.claimStageDir(this.stageDir, this);

    const pipelineName = options.pipelineName ?? (env.STAGETRACE_PIPELINE?.trim() || runState.pipeline || null);
    const attributes: Attributes = {
      [ATTR.taskName]: this.stageName,
      [ATTR.taskRunId]: `${runState.run_id}/${stageDirName(this.stageName, this.stageNumber)}`,
      [ATTR.stageDir]: this.stageDir,
      [ATTR.runDir]: this.outputBase,
      [ATTR.stageLog]: this.stageLogPath,
      [ATTR.pipelineLog]: this.pipelineLogPath,
      [ATTR.pipelineRunId]: runState.run_id,
      [ATTR.processPid]: process.pid,
      [ATTR.processArgs]: redactArgv(process.argv),
      [ATTR.hostName]: hostname(),
      [ATTR.schemaVersion]: MANIFEST_SCHEMA_VERSION,
    };
    attributes[ATTR.taskRunUrl] = taskRunUrl(env.STAGETRACE_TASK_URL, {
      run_id: runState.run_id,
      stage: this.stageName,
      task_run_id: attributes[ATTR.taskRunId] as string,
    }, join(this.stageDir, MANIFEST_FILE));
    if (this.stageNumber !== null) attributes[ATTR.stageNumber] = this.stageNumber;
    if (pipelineName) attributes[ATTR.pipelineName] = pipelineName;
    if (this.manifestPath === null) attributes[ATTR.manifestDisabled] = true;

    // An active span (an in-process pipeline, a test) is the parent; else TRACEPARENT; else the run span
    // recorded in the run state (a task that got only the run directory); else a new trace.
    let parent = trace.getSpan(context.active()) ? context.active() : contextFromEnv(context.active());
    if (!trace.getSpanContext(parent) && runState.trace) parent = runParentContext(runState.trace, parent);
    this.span = this.telemetry.tracer.startSpan(
      STAGE_SPAN_PREFIX + this.stageName,
      { kind: SpanKind.INTERNAL, attributes, startTime: start },
      parent,
    );
    this.fileEvents = directEvents(this.span);

    this.writeRunningManifest(setupProblems);
    // Readers on other hosts cannot see this process: the lease says it is still here.
    // Only a stage with a running manifest on disk has anything for a reader to judge.
    if (this.manifestPath !== null && existsSync(this.manifestPath)) this.lease = holdLease(this.stageDir, leaseTimeoutS(env, this.telemetry.warn), this.telemetry.warn);
    const stageLog = this.telemetry.logFiles.open(this.stageLogPath, this.outputBase);
    const pipelineLog = this.telemetry.logFiles.open(this.pipelineLogPath, this.outputBase);
    for (const file of [stageLog, pipelineLog]) if (file.problem !== null) setupProblems.push(file.problem);
    if (this.strict && setupProblems.length > 0) {
      // The span has started: end it as failed (the backend hears of it), then refuse to run the stage.
      const problem = `stage ${this.stageName} (strict mode): ${setupProblems[0]}`;
      this.finalizing = Promise.resolve();
      this.finalStatus = "failed";
      this.recordError(problem);
      this.spanEnded = true;
      this.span.setAttributes({ [ATTR.stageStatus]: "failed", [ATTR.taskResult]: TASK_RESULT.failed, [ATTR.stageStatusReason]: problem });
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: problem });
      this.span.end();
      this.lease?.stop();
      this.telemetry.releaseStageDir(this.stageDir, this);
      throw new StagetraceError("IO_ERROR", `${problem}. Check that OUTPUT_DIR is writable and the disk has free space.`);
    }

    const consoleEnv = (env.STAGETRACE_CONSOLE ?? "").toLowerCase();
    this.logger = createStageLogger({
      stage: this.stageName,
      stageNumber: this.stageNumber,
      span: this.span,
      level: logLevel(env.STAGETRACE_LOG_LEVEL, "STAGETRACE_LOG_LEVEL", this.telemetry.warn),
      stageLog,
      pipelineLog,
      otlp: this.telemetry.logDestination(),
      console: consoleMode(consoleEnv, this.telemetry.warn),
      secrets: this.secrets,
      onLine: () => this.heartbeat?.progress(),
    });
    this.logger.info({ stage_dir: this.stageDir }, `stage ${this.stageName} started`);
    this.heartbeat = this.telemetry.heartbeat?.start(attributes, this.span.spanContext().traceId);
  }

  /**
   * The manifest a stage has while it runs: `status: "running"`, no end, and
   * the pid, host, start time and trace ids, written atomically. If the
   * process is killed before it can finalize, this is what stays on disk.
   */
  private writeRunningManifest(problems: string[]): void {
    if (this.manifestPath === null || !isReadable(this.span)) return;
    const endpoint = this.telemetry.provider && this.telemetry.config.tracesUrl ? redactUrl(this.telemetry.config.tracesUrl) : null;
    try {
      writeFileAtomic(this.manifestPath, manifestTextFromSpan(this.span, { endpoint, state: endpoint === null ? "local" : "pending" }));
    } catch (err) {
      const problem = this.ioProblem(`cannot write the running manifest ${this.manifestPath}`, (err as Error).cause ?? err);
      problems.push(problem);
      if (!this.strict) this.telemetry.warn(problem);
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
    const e = err as NodeJS.ErrnoException;
    return `${what} (${errnoText(e)}). The stage goes on, but its files may be incomplete: check OUTPUT_DIR permissions and free disk space.`;
  }

  /** The stage's final status, once `finalize()` has been called. */
  get status(): StageStatus | undefined {
    return this.finalStatus;
  }

  /** True once `finalize()` has been called (or stagetrace finalized the stage at exit or on a signal). */
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
    if (this.finalizing && this.afterFinalize(`track${role[0]!.toUpperCase()}${role.slice(1)}(${JSON.stringify(path)})`)) return;
    if (typeof path !== "string" || path === "") {
      throw new StagetraceError("INVALID_PATH", `track ${role}: expected a file path, got ${JSON.stringify(path)}`);
    }
    this.heartbeat?.progress();
    if (isUri(path)) {
      // A location in object storage or on the web: recorded as given (credentials censored), never read.
      const uri = redactUrl(path);
      const t: Tracked = { path: uri, role, type: String(type), metadata, fromStage: null, time: Date.now(), fingerprint: uriFingerprint(uri) };
      if (extra.retained !== undefined) t.retained = extra.retained;
      if (extra.reason !== undefined) t.reason = extra.reason;
      if (this.tracked.length === 0) this.recordFile(t, t.fingerprint as FileFingerprint);
      else this.tracked.push(t);
      return;
    }
    const absolute = isPlainAbsolute(path) ? path : resolve(path);
    const source = this.sourceOf(absolute);
    const algorithm = options.hash === false ? "none" : this.hashAlgorithm;
    const t: Tracked = {
      path: absolute,
      role,
      type: String(type),
      metadata,
      fromStage: source?.stage ?? null,
      time: Date.now(),
      fingerprint: fingerprint(absolute, algorithm, {
        producerDir: this.reuseHashes ? source?.dir : null,
        index: this.telemetry.fingerprints,
        keepIdentity: role !== "input" && this.reuseHashes,
      }),
    };
    if (extra.retained !== undefined) t.retained = extra.retained;
    if (extra.reason !== undefined) t.reason = extra.reason;
    // A fingerprint that is ready goes on the span now, unless an earlier file is still
    // being hashed (events stay in tracking order). Holding it until finalize() would
    // keep every tracked file's record alive, which costs more than the event itself.
    if (this.tracked.length === 0 && !(t.fingerprint instanceof Promise)) this.recordFile(t, t.fingerprint);
    else this.tracked.push(t);
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
  async filesFingerprinted(): Promise<void> {
    for (const t of this.tracked) if (t.fingerprint instanceof Promise) t.fingerprint = await t.fingerprint;
  }

  /** Whether tracked files may take the hash their producing stage recorded (`STAGETRACE_REUSE_HASHES`). */
  private get reuseHashes(): boolean {
    return (this.reuse ??= envFlag(process.env, "STAGETRACE_REUSE_HASHES", true, this.telemetry.warn));
  }

  // A file inside another stage's directory of this run came from that stage.
  private sourceOf(path: string): { stage: string; dir: string } | null {
    if (!path.startsWith(this.outputBase) || path[this.outputBase.length] !== sep) return null;
    const rest = path.slice(this.outputBase.length + 1);
    const end = sep === "/" ? rest.indexOf("/") : rest.search(/[\\/]/);
    if (end < 0) return null; // a file directly in the run directory
    const first = rest.slice(0, end);
    // Files come by the thousand from a few directories: each is worked out once.
    let source = this.sources.get(first);
    if (source === undefined) {
      const m = /^\d+_(.+)$/.exec(first);
      const name = m ? m[1]! : this.stages?.includes(first) ? first : null;
      source = name === null || name === this.stageName ? null : { stage: name, dir: join(this.outputBase, first) };
      this.sources.set(first, source);
    }
    return source;
  }

  /** Records one config value; the same as `setConfig({ [key]: value })`. */
  addConfig(key: string, value: unknown): void {
    this.setConfig({ [key]: value });
  }

  /** Records config as `stagetrace.config.<key>` attributes, nested keys flattened, secrets redacted. */
  setConfig(config: Record<string, unknown>): void {
    if (this.afterFinalize("setConfig()")) return;
    this.span.setAttributes(flattenToAttributes(ATTR.configPrefix, config, { secrets: this.secrets }));
  }

  /**
   * Records a warning: a `stagetrace.warning` event on the span and an entry of the manifest's `warnings`. Secrets are scrubbed.
   */
  addWarning(message: string): void {
    if (this.afterFinalize("addWarning()")) return;
    this.heartbeat?.progress();
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

  /**
   * Records resource figures of your own as `stagetrace.resource.<key>`; CPU time and peak RSS are added at `finalize()`. Name keys after their unit (`memory_mb`).
   */
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
   * `saveManifest: false` leaves no manifest.json (the span still ends and is
   * exported); any other field of `options` is recorded in the manifest's
   * `extra` and as `stagetrace.extra.<key>` on the span.
   * A second call warns and returns the first call's promise.
   */
  finalize(status: StageStatus = "success", options: FinalizeOptions = {}): Promise<void> {
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
    this.finalReason = options.reason ?? (options.error !== undefined ? messageOf(options.error) : undefined);
    const { reason: _reason, error, saveManifest, ...extra } = options;
    // Recorded now, so a signal that ends the stage while its files are hashed keeps them too.
    this.span.setAttributes(flattenToAttributes(ATTR.extraPrefix, extra, { secrets: this.secrets }));
    if (saveManifest === false) this.dropManifest();
    this.finalizing = this.doFinalize(status, error);
    return this.finalizing;
  }

  /** finalize(..., { saveManifest: false }): no manifest is written at the end, and the running one is removed. */
  private dropManifest(): void {
    this.span.setAttribute(ATTR.manifestDisabled, true);
    this.manifestDropped = true;
    if (this.manifestPath === null) return;
    try {
      rmSync(this.manifestPath, { force: true });
    } catch (err) {
      this.telemetry.warn(this.ioProblem(`cannot remove the running manifest ${this.manifestPath}`, err));
    }
  }

  private async doFinalize(status: StageStatus, error: string | Error | undefined): Promise<void> {
    if (error !== undefined) this.recordError(messageOf(error), error);
    await this.recordTrackedFiles();
    // A signal or a crash may have ended the stage while its files were being hashed.
    if (this.spanEnded) return;
    this.endSpan(status, this.finalReason);
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
    if (this.spanEnded) return;
    if (!this.finalizing) {
      this.finalizing = Promise.resolve();
      this.finalStatus = status;
      this.finalReason = reason;
      if (options.error !== undefined || options.message !== undefined) {
        this.recordError(options.message ?? messageOf(options.error), options.error);
      }
    }
    const when = options.when ?? "the stage had to end";
    for (const t of this.tracked) {
      if (!t.recorded) this.addFileEvent(t, t.fingerprint instanceof Promise ? stillHashing(t, when) : t.fingerprint);
    }
    this.tracked.length = 0;
    if (options.exitCode !== undefined) this.span.setAttribute(ATTR.processExitCode, options.exitCode);
    this.endSpan(this.finalStatus ?? status, this.finalReason);
  }

  /** Records the outcome on the span and ends it, which writes manifest.json synchronously. */
  private endSpan(status: StageStatus, reason: string | undefined): void {
    if (this.spanEnded) return;
    this.spanEnded = true;
    // Write the lines now, while the manifest can still say that some could not be written.
    this.telemetry.logFiles.flushAll();
    const logProblems = this.telemetry.logFiles.problemsFor([this.stageLogPath, this.pipelineLogPath]);
    for (const problem of logProblems) this.span.addEvent(WARNING_EVENT, { [WARNING_ATTR.message]: problem });
    if (this.strict) {
      // Strict mode: lines that cannot reach their file make the stage fail.
      const problem = logProblems[0];
      if (problem !== undefined && (status === "success" || status === "skipped")) {
        status = "failed";
        reason = `strict mode: ${problem}`;
        this.finalStatus = status;
        this.finalReason = reason;
        this.recordError(reason);
      }
    }
    this.span.setAttributes({ [ATTR.stageStatus]: status, [ATTR.taskResult]: TASK_RESULT[status] });
    if (this.commandResources) {
      for (const [k, v] of Object.entries(this.commandResources)) if (v !== null) this.span.setAttribute(ATTR.resourcePrefix + k, v);
    } else {
      const cpu = process.cpuUsage(this.cpuAtStart);
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
    }
    // A stage that did its job leaves the status unset, as the conventions ask of instrumentation.
    this.span.end();
    this.lease?.stop();
    this.heartbeat?.end();
    this.telemetry.releaseStageDir(this.stageDir, this);
    this.refreshPipeline();
    const line = { status, ...(reason !== undefined ? { reason } : {}) };
    if (status === "failed") this.logger.error(line, `stage ${this.stageName} failed${reason ? `: ${reason}` : ""}`);
    else if (status === "interrupted") this.logger.warn(line, `stage ${this.stageName} interrupted${reason ? `: ${reason}` : ""}`);
    else this.logger.info(line, `stage ${this.stageName} ${status === "skipped" ? "skipped" : "finished"}`);
    this.telemetry.logFiles.flushAll();
    if (this.strict) this.strictAfterEnd();
  }

  // A stage re-run on its own into an ended run: its entry in pipeline.json, and the run's status, follow.
  private refreshPipeline(): void {
    if (this.runId === "unknown" || this.manifestPath === null) return;
    try {
      if (refreshPipelineAfterRerun(this.outputBase, this.runId) === "locked") {
        this.telemetry.warn(`${join(this.outputBase, "pipeline.json")} is locked by another process; stage ${this.stageName}'s entry was not updated`);
      }
    } catch (err) {
      this.telemetry.warn(`could not update ${join(this.outputBase, "pipeline.json")} after stage ${this.stageName}: ${(err as Error).message}`);
    }
  }

  // Strict mode, after the manifest was due: a missing manifest or lost log lines make the process fail.
  private strictAfterEnd(): void {
    const problems: string[] = [];
    problems.push(...this.telemetry.logFiles.problemsFor([this.stageLogPath, this.pipelineLogPath]));
    if (this.manifestPath !== null && !this.manifestDropped && !this.telemetry.manifestExporter.writtenPaths().includes(this.manifestPath)) {
      problems.push(`${this.manifestPath} was not written`);
    }
    if (problems.length === 0) return;
    if (!process.exitCode) process.exitCode = 1;
    this.telemetry.warn(`stage ${this.stageName} (strict mode): ${problems.join("; ")}; the process exit code is 1`);
  }

  /**
   * @internal For `stagetrace exec`: the resources of the command it ran,
   * recorded instead of this process's own CPU time and peak RSS.
   */
  recordCommandResources(resources: Record<string, number | null>): void {
    this.commandResources = resources;
  }

  /**
   * At process exit (natural end): the stage never called finalize(), so it
   * failed, and so does the process: its exit code becomes 1 unless it already
   * chose a non-zero one.
   */
  finalizeAbandoned(): Promise<void> {
    if (this.finalizing) return this.finalizing;
    failTheProcess();
    this.addError(`stage ${this.stageName} ended without calling finalize()`);
    return this.finalize("failed", { reason: NOT_FINALIZED_REASON });
  }

  /**
   * At `process.exit()`, where nothing can be awaited: records the files
   * whose fingerprint is already known and ends the span, which writes the
   * manifest synchronously. A finalize() still waiting for hashes keeps its status.
   */
  finalizeAbandonedSync(exitCode?: number): void {
    if (this.spanEnded) return;
    if (!this.finalizing) failTheProcess();
    // The code the process ends with: its own, or 1 from failTheProcess() over a 0.
    if (exitCode !== undefined && typeof process.exitCode === "number") exitCode = process.exitCode;
    this.finalizeNow("failed", NOT_FINALIZED_REASON, {
      message: `stage ${this.stageName} ended without calling finalize()`,
      when: "the process exited",
      ...(exitCode !== undefined ? { exitCode } : {}),
    });
  }

  private async recordTrackedFiles(): Promise<void> {
    for (const t of this.tracked) {
      // Most fingerprints are ready; awaiting each one would cost a microtask per file.
      const fp = t.fingerprint instanceof Promise ? await t.fingerprint : t.fingerprint;
      if (this.spanEnded) return; // finalizeNow() recorded the rest
      this.recordFile(t, fp);
    }
    this.tracked.length = 0;
    if (this.reuseHashes && this.manifestPath !== null) {
      try {
        this.telemetry.fingerprints.write(this.stageDir, this.written);
      } catch (err) {
        this.telemetry.warn(`${messageOf(err)}; later stages hash this stage's outputs again`);
      }
    }
  }

  private recordFile(t: Tracked, fp: FileFingerprint): void {
    this.addFileEvent(t, fp);
    t.recorded = true;
    if (t.role !== "input" && fp.identity) this.written.push(fp);
  }

  private addFileEvent(t: Tracked, fp: FileFingerprint): void {
    const fields: FileEventFields = {
      role: t.role,
      path: fp.path,
      name: fp.name,
      type: t.type,
      kind: fp.kind,
      exists: fp.exists,
      size: fp.size,
      modified: fp.modified,
      hash: fp.hash,
      hashAlgorithm: fp.hashAlgorithm,
      fromStage: t.fromStage,
    };
    if (t.role === "intermediate") {
      fields.retained = t.retained ?? false;
      fields.reason = this.secrets.scrub(t.reason ?? "");
    }
    const attributes = fileEventAttributes(fields);
    for (const _ in t.metadata) {
      flattenToAttributes(FILE_ATTR.metaPrefix, t.metadata, { secrets: this.secrets }, attributes);
      break;
    }
    const time = millisToHrTime(t.time);
    if (this.fileEvents !== null) this.fileEvents.push({ name: FILE_EVENT, attributes, time, droppedAttributesCount: 0 });
    else this.span.addEvent(FILE_EVENT, attributes, time);
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
      throw new StagetraceError("NOT_FOUND", `loadJson: cannot read ${path} (${errnoText(err)})`, { cause: err });
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

/** `STAGETRACE_LEASE_TIMEOUT_S`: seconds without renewal before a reader elsewhere counts a running stage as abandoned. */
function leaseTimeoutS(env: NodeJS.ProcessEnv, warn: (message: string) => void): number {
  return numberFromEnv(env, "STAGETRACE_LEASE_TIMEOUT_S", DEFAULT_LEASE_TIMEOUT_S, { min: 0, above: true, unit: "seconds" }, warn);
}

/**
 * `cicd.pipeline.task.run.url.full`: `STAGETRACE_TASK_URL` with `{run_id}`,
 * `{stage}` and `{task_run_id}` filled in (URL-encoded), e.g.
 * `https://ci.example.com/runs/{run_id}/{stage}`; without it, the file URL
 * of the stage's manifest.
 */
export function taskRunUrl(template: string | undefined, values: Record<"run_id" | "stage" | "task_run_id", string>, manifestFile: string): string {
  if (template?.trim()) return template.trim().replace(/\{(run_id|stage|task_run_id)\}/g, (_m, k: keyof typeof values) => encodeURIComponent(values[k]));
  return pathToFileURL(manifestFile).href;
}
