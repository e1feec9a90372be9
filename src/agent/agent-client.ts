import type { Span } from "@opentelemetry/api";
import { closeSync, constants as fsConstants, mkdirSync, openSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { NOT_FINALIZED_REASON, assertStageStatus } from "../conventions.js";
import { manifestPathIn } from "../manifest/manifest-file.js";
import { StagetraceError } from "../errors.js";
import { errnoText } from "../fs/errno-text.js";
import { stderrIsTerminal } from "../fs/terminal.js";
import { isUri } from "../fs/uri.js";
import type { LogFiles } from "../log/log-files.js";
import type * as StageLoggerModule from "../log/stage-logger.js";
import { liveStageOwner } from "../run/load-run.js";
import {
  checkedStageDirName,
  loadOrCreateRunState,
  pipelineLogPath,
  resolveRunDir,
  resolveStageNumber,
  resolveStages,
  validateStageName,
  type RunState,
} from "../run/run-directory.js";
import { PROTOCOL_VERSION, type BeginRecord, type EndRecord, type LogLevel, type StageRecord } from "../protocol/stage-record.js";
import type { LineLogger } from "../log/command-output.js";
import { runBody } from "../stage/stage-body.js";
import type * as StageIOModule from "../stage/stage-io.js";
import type { StageIO } from "../stage/stage-io.js";
import { confineStageDir, inputPath, loadJsonAt, outputPath, saveJsonAt } from "../stage/stage-paths.js";
import { ProcessLifecycle } from "../telemetry/process-lifecycle.js";
import type { ResolvedTelemetryConfig } from "../config/telemetry-config.js";
import { fromOption } from "../config/env-rules.js";
import { logLevelOf, resourceVariables, stagetraceSettings, stagetraceVariables } from "../config/stagetrace-settings.js";
import { processResourceAttributes } from "../telemetry/process-resource.js";
import { warnOnce } from "../telemetry/warn-once.js";
import { SecretValues } from "../values/redaction.js";
import { randomHex } from "../random-hex.js";
import type { FileRole, FinalizeOptions, StageOptions, StageStatus, TelemetryReport, TrackOptions } from "../types.js";
import { agentSpool, spoolFileName } from "./agent-env.js";
import { formatTraceparent, traceparentFromEnv } from "../run/traceparent.js";

const load = createRequire(import.meta.url);

/** Log lines are written to the spool in batches of this many bytes at most, or after this long (LogFiles' figures). */
const LINE_BATCH_BYTES = 64 * 1024;
const LINE_BATCH_MS = 100;

/** The in-process StageIO, loaded when a stage cannot be handed to the agent (`require` of an ES module: synchronous). */
function inProcessStageIO(): typeof StageIO {
  return (load("../stage/stage-io.js") as typeof StageIOModule).StageIO;
}

/** Where OpenTelemetry's API keeps what a process registered (a provider, a context manager): one key for every copy of API 1.x. */
const OTEL_API_GLOBAL = Symbol.for("opentelemetry.js.api.1");

/** JSON of a record, whatever the stage put in it: a bigint as a string, a cycle as "[Circular]". */
function recordText(record: object): string {
  try {
    return JSON.stringify(record);
  } catch {
    const seen = new WeakSet<object>();
    return JSON.stringify(record, (_k, v: unknown) => {
      if (typeof v === "bigint") return v.toString();
      if (typeof v === "object" && v !== null) {
        if (seen.has(v)) return "[Circular]";
        seen.add(v);
      }
      return v;
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What a record says of an Error, as StageIO records a thrown one. */
function exceptionOf(error: unknown): { type: string; message: string; stack?: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  return { type: error.name || error.constructor.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
}

const warn = warnOnce();

/** Set once the process set up stagetrace's telemetry itself (initTelemetry): its stages then stay in-process, under it. */
let inProcessTelemetry = false;

/** From now on, stages of this process run in-process. */
export function stayInProcess(): void {
  inProcessTelemetry = true;
}
const NO_FILE = { write(): void {} };

/**
 * @internal How `stagetrace exec` hands its stage to the run's agent
 * (src/cli/exec.ts): exec is the stage's process, its command the stage.
 */
export interface ExecHost {
  /** The command's line (secrets censored), recorded as the stage's `process.command_args` instead of exec's. */
  argv: string[];
  /** Whether SIGINT and SIGTERM end the stage: exec forwards them to its command instead. */
  handleSignals: boolean;
  /** Whether stderr is a terminal, as exec (which has node:tty loaded) knows without creating process.stderr. */
  stderrTty: boolean;
}

/** Thrown by the constructor, for AgentStage.hosted(), where another process would fall back to an in-process StageIO. */
const NOT_HOSTED = new Error("stage not hosted by the agent");

/** The in-process StageIO the constructor returns when the stage cannot be handed over; for exec, NOT_HOSTED. */
function inProcess(stageName: string, options: StageOptions, host: ExecHost | undefined): AgentStage {
  if (host) throw NOT_HOSTED;
  return new (inProcessStageIO())(stageName, options) as unknown as AgentStage;
}

/**
 * The process's side of the end of its stages, by the same rules as
 * in-process (beforeExit, exit, SIGINT/SIGTERM, uncaught exceptions), with
 * nothing to export: the agent does that.
 */
let lifecycle: ProcessLifecycle | undefined;
function processLifecycle(handleSignals: boolean): ProcessLifecycle {
  lifecycle ??= new ProcessLifecycle({
    config: { handleSignals, tracesUrl: null } as ResolvedTelemetryConfig,
    logFiles: { flushAll() {} } as unknown as LogFiles,
    account: { reopen() {} } as unknown as ConstructorParameters<typeof ProcessLifecycle>[0]["account"],
    warn,
    shutdown: () => Promise.resolve({ timedOut: false } as TelemetryReport),
    atExit() {},
  });
  return lifecycle;
}

/** The stage's file in the agent's spool, or null when it cannot be created there (no agent: in-process). */
function openSpoolFile(dir: string): { fd: number; path: string } | null {
  const path = join(dir, spoolFileName(process.pid, randomHex(6)));
  try {
    const flags = fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY | fsConstants.O_APPEND;
    return { fd: openSync(path, flags, 0o600), path };
  } catch {
    return null;
  }
}

/**
 * `StageIO` in a stage process under `stagetrace run`: the same paths, the
 * same API, the same checks at construction, but no span, exporter or log
 * file of its own. Every call becomes a record in the stage's file in the
 * agent's spool, and the agent (src/agent/stage-agent.ts) makes the span,
 * manifest.json and the log lines from them. pino is loaded when the stage
 * asks for its logger, `@opentelemetry/api` when it asks for its span.
 *
 * When the stage cannot be handed over (no spool, the stage has telemetry
 * options of its own, or the process registered OpenTelemetry globals of its
 * own, whose active span would be the stage's parent), the constructor
 * returns an in-process StageIO instead.
 */
// Fields are definitely assigned unless the constructor returned an in-process StageIO instead.
export class AgentStage {
  readonly stageName!: string;
  readonly stageNumber!: number | null;
  readonly outputBase!: string;
  readonly stageDir!: string;
  readonly stages!: readonly string[] | null;
  readonly stageLogPath!: string;
  readonly pipelineLogPath!: string;
  readonly manifestPath!: string | null;
  readonly strict!: boolean;
  private fd!: number | null;
  /** `line` records not written yet (sendLine). */
  private pendingLines = "";
  private lineTimer: NodeJS.Timeout | undefined;
  private readonly spoolPath!: string;
  private readonly traceId!: string;
  private readonly spanId!: string;
  private readonly traceFlags!: number;
  private readonly cpuAtStart = process.cpuUsage();
  private spanObject: Span | undefined;
  private logger: Logger | undefined;
  private finalizing: Promise<void> | undefined;
  private finalStatus: StageStatus | undefined;
  private commandResources: Record<string, number | null> | undefined;
  private commandExit: { code: number; signal: string | null } | undefined;

  /**
   * @internal For `stagetrace exec`: its stage as a client of the run's
   * agent, or null where a stage process would run in-process instead (exec
   * then sets up its own telemetry).
   */
  static hosted(stageName: string, options: StageOptions, host: ExecHost): AgentStage | null {
    try {
      return new AgentStage(stageName, options, host);
    } catch (err) {
      if (err === NOT_HOSTED) return null;
      throw err;
    }
  }

  constructor(stageName: string, options: StageOptions = {}, host?: ExecHost) {
    const env = process.env;
    const settings = stagetraceSettings(env, warn);
    const start = new Date();
    const spool = agentSpool(env);
    const otelGlobals = (globalThis as Record<symbol, unknown>)[OTEL_API_GLOBAL];
    if (spool === null || options.telemetry !== undefined || otelGlobals !== undefined || inProcessTelemetry) {
      return inProcess(stageName, options, host);
    }
    this.stageName = validateStageName(stageName);
    this.outputBase = resolveRunDir(options.outputBase, env, start);
    let runState: RunState;
    try {
      runState = loadOrCreateRunState(this.outputBase, env, start);
      mkdirSync(this.outputBase, { recursive: true });
    } catch {
      // What StageIO says (and does, in strict mode) of a run it cannot record.
      return inProcess(stageName, options, host);
    }
    this.stages = resolveStages(options.stages, env, this.outputBase, runState, warn);
    this.stageNumber = resolveStageNumber(this.stageName, options.stageNumber, this.stages);
    this.stageDir = join(this.outputBase, checkedStageDirName(this.stageName, this.stageNumber));
    this.manifestPath = options.enableManifest === false ? null : manifestPathIn(this.stageDir);
    this.stageLogPath = join(this.stageDir, "stage.log");
    this.strict = settings.strict(options.strict);
    this.pipelineLogPath = pipelineLogPath(this.outputBase, runState, warn);
    try {
      mkdirSync(this.stageDir, { recursive: true });
    } catch {
      return inProcess(stageName, options, host);
    }
    confineStageDir(this.outputBase, this.stageDir);
    const owner = this.manifestPath === null ? null : liveStageOwner(this.manifestPath);
    if (owner !== null) {
      throw new StagetraceError(
        "STAGE_RUNNING",
        `stage ${this.stageName} is already running in process ${owner} on this host (${this.manifestPath} says so); not starting it twice. Wait for it, or use another run directory`,
      );
    }
    const file = openSpoolFile(spool);
    if (file === null) return inProcess(stageName, options, host);
    this.fd = file.fd;
    this.spoolPath = file.path;

    // The parent StageIO would take: TRACEPARENT, else the run span in the run state. Parent-based sampling: its flag.
    const fromEnv = traceparentFromEnv(env);
    const t = runState.trace;
    const parent = fromEnv ?? (t ? { traceId: t.trace_id, spanId: t.span_id, traceFlags: t.trace_flags } : null);
    this.traceId = parent?.traceId ?? randomHex(16);
    this.spanId = randomHex(8);
    this.traceFlags = parent ? parent.traceFlags & 1 : 1;
    const tracestate = fromEnv ? env.TRACESTATE?.trim() : t?.tracestate;
    const begin: BeginRecord = {
      record: "begin",
      stage: this.stageName,
      pid: process.pid,
      host: hostname(),
      argv: process.argv,
      ...(host ? { command: host.argv } : {}),
      start: start.getTime(),
      trace_id: this.traceId,
      span_id: this.spanId,
      ...(parent ? { traceparent: formatTraceparent(parent.traceId, parent.spanId, parent.traceFlags & 1) } : {}),
      ...(parent && tracestate ? { tracestate } : {}),
      run_dir: this.outputBase,
      stage_number: this.stageNumber,
      stages: this.stages ? [...this.stages] : null,
      ...(options.pipelineName !== undefined ? { pipeline_name: options.pipelineName } : {}),
      ...(options.enableManifest === false ? { enable_manifest: false } : {}),
      strict: this.strict,
      ...(options.hashAlgorithm !== undefined ? { hash_algorithm: options.hashAlgorithm } : {}),
      // The variables that shape its stage and its resource; the agent's own environment shapes the rest of its telemetry.
      env: { ...stagetraceVariables(env), ...resourceVariables(env) },
      stderr_tty: host ? host.stderrTty : stderrIsTerminal(),
      resource: processResourceAttributes() as NonNullable<BeginRecord["resource"]>,
    };
    this.send(begin);
    processLifecycle(host ? host.handleSignals : settings.handleSignals()).claimStageDir(this.stageDir, this);
  }

  private send(record: StageRecord): void {
    if (this.fd === null) return;
    // Every other record keeps its place after the log lines before it.
    this.writeOut(recordText({ v: PROTOCOL_VERSION, ...record }) + "\n");
  }

  /**
   * A log line, buffered as an in-process stage buffers its log files
   * (LogFiles: up to 64 KiB or 100 ms, and at exit), so a stage that logs
   * a lot makes one write per batch, not one per line.
   */
  private sendLine(level: number, line: string): void {
    // recordText's JSON, without the object: a line is a string and a level a number.
    this.batch(`{"v":${PROTOCOL_VERSION},"record":"line","level":${level},"line":${JSON.stringify(line)}}\n`);
  }

  private batch(text: string): void {
    if (this.fd === null) return;
    this.pendingLines += text;
    if (this.pendingLines.length >= LINE_BATCH_BYTES) this.writeOut("");
    else if (this.lineTimer === undefined) {
      this.lineTimer = setTimeout(() => this.writeOut(""), LINE_BATCH_MS).unref();
      process.once("exit", this.flushAtExit);
    }
  }

  private readonly flushAtExit = (): void => {
    if (this.fd !== null) this.writeOut("");
  };

  /** Writes the buffered lines, then `text`, in one `write(2)` on the O_APPEND descriptor when they fit. */
  private writeOut(text: string): void {
    const data = this.pendingLines + text;
    this.pendingLines = "";
    clearTimeout(this.lineTimer);
    if (this.lineTimer !== undefined) process.removeListener("exit", this.flushAtExit);
    this.lineTimer = undefined;
    if (data === "" || this.fd === null) return;
    const bytes = Buffer.from(data);
    try {
      for (let written = 0; written < bytes.length;) written += writeSync(this.fd, bytes, written);
    } catch (err) {
      warn(`cannot write to ${this.spoolPath} (${errnoText(err)}); stage ${this.stageName} loses the records it makes from here on`);
    }
  }

  /** @internal The stage span as a W3C `traceparent`: the parent of what exec runs. */
  get traceparent(): string {
    return formatTraceparent(this.traceId, this.spanId, this.traceFlags);
  }

  /** @internal A line another process's stage logger formatted (a record applied by exec): passed on as it is. */
  writeClientLine(line: string, level: number): void {
    this.sendLine(level, line);
  }

  /**
   * @internal For `stagetrace exec`: a logger without pino whose every call
   * becomes a `log` record, batched with the `line` records; the agent's
   * logger, made with the same options, writes the line an in-process exec writes.
   */
  recordLogger(): LineLogger {
    const send = (level: LogLevel) => (fields: Record<string, unknown>, message: string) =>
      this.batch(
        recordText({ v: PROTOCOL_VERSION, record: "log", level, message, ...(Object.keys(fields).length > 0 ? { fields } : {}) }) + "\n",
      );
    return { debug: send("debug"), info: send("info"), warn: send("warn"), error: send("error"), fatal: send("fatal") };
  }

  /** @internal For `stagetrace exec`: how its command ended, sent with `end` as `exit_code` and `signal`. */
  setCommandExit(code: number, signal: string | null): void {
    this.commandExit = { code, signal };
  }

  /** The stage's span: a span context with the ids the agent's span has (non-recording here; child spans made with it nest under the stage). */
  get span(): Span {
    this.spanObject ??= (load("@opentelemetry/api") as typeof import("@opentelemetry/api")).trace.wrapSpanContext({
      traceId: this.traceId,
      spanId: this.spanId,
      traceFlags: this.traceFlags,
    });
    return this.spanObject;
  }

  get status(): StageStatus | undefined {
    return this.finalStatus;
  }

  get isFinalized(): boolean {
    return this.finalizing !== undefined;
  }

  /** The same pino logger as in-process (same options, so the same lines); the agent writes its lines to the files. */
  getStageLogger(level?: string): Logger {
    const { createStageLogger } = load("../log/stage-logger.js") as typeof StageLoggerModule;
    this.logger ??= createStageLogger({
      stage: this.stageName,
      stageNumber: this.stageNumber,
      span: this.span,
      level: stagetraceSettings(process.env, warn).logLevel(),
      stageLog: NO_FILE,
      pipelineLog: NO_FILE,
      otlp: null,
      console: "off",
      secrets: new SecretValues(),
      forward: (line, lvl) => this.sendLine(lvl, line),
    });
    if (level !== undefined) this.logger.level = fromOption(level, "getStageLogger(level)", logLevelOf)!;
    return this.logger;
  }

  getInputPath(filename: string, options: { fromStage?: string } = {}): string {
    return inputPath(this, filename, options);
  }

  getOutputPath(filename: string): string {
    return outputPath(this.stageDir, filename);
  }

  trackInput(path: string, fileType = "file", metadata: Record<string, unknown> = {}, options: TrackOptions = {}): void {
    this.track("input", path, fileType, metadata, options);
  }

  trackOutput(path: string, fileType = "file", metadata: Record<string, unknown> = {}, options: TrackOptions = {}): void {
    this.track("output", path, fileType, metadata, options);
  }

  trackIntermediate(path: string, options: { retained?: boolean; reason?: string; type?: string } & TrackOptions = {}): void {
    if (this.afterFinalize(`trackIntermediate(${JSON.stringify(path)})`)) return;
    this.send({
      record: "intermediate",
      path: absolute("intermediate", path),
      file_type: options.type ?? "intermediate",
      retained: options.retained ?? false,
      reason: options.reason ?? "",
      ...(options.hash === false ? { hash: false } : {}),
    });
  }

  private track(role: FileRole, path: string, fileType: string, metadata: Record<string, unknown>, options: TrackOptions): void {
    if (this.afterFinalize(`track${role[0]!.toUpperCase()}${role.slice(1)}(${JSON.stringify(path)})`)) return;
    this.send({
      record: role as "input" | "output",
      path: absolute(role, path),
      file_type: String(fileType),
      metadata,
      ...(options.hash === false ? { hash: false } : {}),
    });
  }

  rememberSecret(value: string): void {
    this.send({ record: "secret", value });
  }

  filesFingerprinted(): Promise<void> {
    return Promise.resolve();
  }

  addConfig(key: string, value: unknown): void {
    this.setConfig({ [key]: value });
  }

  setConfig(config: Record<string, unknown>): void {
    if (this.afterFinalize("setConfig()")) return;
    this.send({ record: "config", values: config });
  }

  addWarning(message: string): void {
    if (this.afterFinalize("addWarning()")) return;
    this.send({ record: "warning", message: String(message) });
  }

  addError(message: string, error?: unknown): void {
    if (this.afterFinalize("addError()")) return;
    this.sendError(message, error);
  }

  private sendError(message: string, error: unknown): void {
    const exception = exceptionOf(error);
    this.send({ record: "error", message: String(message), ...(exception ? { exception } : {}) });
  }

  setResources(resources: Record<string, unknown>): void {
    if (this.afterFinalize("setResources()")) return;
    this.send({ record: "resources", values: resources });
  }

  private afterFinalize(call: string): boolean {
    if (!this.finalizing) return false;
    warn(`stage ${this.stageName}: ${call} after finalize() is ignored; the manifest is already written`);
    return true;
  }

  finalize(status: StageStatus = "success", options: FinalizeOptions = {}): Promise<void> {
    if (this.finalizing) {
      if (status !== this.finalStatus) {
        warn(`stage ${this.stageName}: finalize("${status}") called after finalize("${this.finalStatus}"); the first status stands`);
      }
      return this.finalizing;
    }
    assertStageStatus(status);
    this.finalStatus = status;
    this.finalizing = Promise.resolve();
    const { reason, error, saveManifest, ...extra } = options;
    if (error !== undefined) this.sendError(messageOf(error), error);
    const why = reason ?? (error !== undefined ? messageOf(error) : undefined);
    this.end({
      status,
      ...(why !== undefined ? { reason: why } : {}),
      ...(Object.keys(extra).length > 0 ? { extra } : {}),
      ...(saveManifest === false ? { save_manifest: false } : {}),
    });
    return this.finalizing;
  }

  finalizeNow(
    status: StageStatus,
    reason: string,
    options: { error?: unknown; message?: string; when?: string; exitCode?: number } = {},
  ): void {
    if (this.fd === null) return;
    if (!this.finalizing) {
      this.finalizing = Promise.resolve();
      this.finalStatus = status;
      if (options.error !== undefined || options.message !== undefined)
        this.sendError(options.message ?? messageOf(options.error), options.error);
    }
    this.end({
      status: this.finalStatus ?? status,
      reason,
      at_once: true,
      ...(options.when !== undefined ? { when: options.when } : {}),
      ...(options.exitCode !== undefined ? { exit_code: options.exitCode } : {}),
    });
  }

  recordCommandResources(resources: Record<string, number | null>): void {
    this.commandResources = resources;
  }

  finalizeAbandoned(): Promise<void> {
    if (this.finalizing) return this.finalizing;
    if (!process.exitCode) process.exitCode = 1;
    this.sendError(`stage ${this.stageName} ended without calling finalize()`, undefined);
    return this.finalize("failed", { reason: NOT_FINALIZED_REASON });
  }

  finalizeAbandonedSync(exitCode?: number): void {
    if (this.fd === null) return;
    if (!this.finalizing && !process.exitCode) process.exitCode = 1;
    if (exitCode !== undefined && typeof process.exitCode === "number") exitCode = process.exitCode;
    this.finalizeNow("failed", NOT_FINALIZED_REASON, {
      message: `stage ${this.stageName} ended without calling finalize()`,
      when: "the process exited",
      ...(exitCode !== undefined ? { exitCode } : {}),
    });
  }

  /** The `end` record, with this process's resources (or the command's), and the file closed: the stage is the agent's now. */
  private end(fields: Omit<EndRecord, "record" | "end" | "resources">): void {
    const cpu = process.cpuUsage(this.cpuAtStart);
    const own = {
      cpu_user_ms: Math.round(cpu.user / 1000),
      cpu_system_ms: Math.round(cpu.system / 1000),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    const resources: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.commandResources ?? own)) if (v !== null) resources[k] = v;
    const exit = this.commandExit;
    this.send({
      record: "end",
      end: Date.now(),
      resources,
      ...(exit ? { exit_code: exit.code, ...(exit.signal !== null ? { signal: exit.signal } : {}) } : {}),
      ...fields,
    });
    try {
      closeSync(this.fd!);
    } catch {
      // closed already: the records are written
    }
    this.fd = null;
    lifecycle?.releaseStageDir(this.stageDir, this);
  }

  saveJson(data: unknown, filename: string): string {
    return saveJsonAt(this.getOutputPath(filename), data, filename);
  }

  loadJson<T = unknown>(filename: string, options: { fromStage?: string } = {}): T {
    return loadJsonAt<T>(this.getInputPath(filename, options));
  }

  saveMetadata(metadata: Record<string, unknown>): string {
    return this.saveJson(metadata, "metadata.json");
  }
}

/** A tracked path as the agent needs it: absolute (this process's working directory is not the agent's); a URI as it is. */
function absolute(role: FileRole, path: string): string {
  if (typeof path !== "string" || path === "") {
    throw new StagetraceError("INVALID_PATH", `track ${role}: expected a file path, got ${JSON.stringify(path)}`);
  }
  return isUri(path) ? path : resolve(path);
}

/** `runStage` for a process under the run's agent: the same, with the stage span active only where it is in-process. */
export async function agentRunStage(name: string, body: (io: StageIO) => unknown, options: StageOptions = {}): Promise<number> {
  const io = new AgentStage(name, options) as unknown as StageIO;
  if (!(io instanceof AgentStage)) {
    const api = load("@opentelemetry/api") as typeof import("@opentelemetry/api");
    return runBody(io, name, body, (run) => api.context.with(api.trace.setSpan(api.context.active(), io.span), run));
  }
  return runBody(io, name, body, (run) => run());
}
