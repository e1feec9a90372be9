/**
 * The span contract: attribute and event names shared by the code that writes
 * spans (stage/) and the code that reads them back (manifest/). Standard
 * OpenTelemetry names first, `stagetrace.*` for what has no standard name.
 */

// The stable names used here, spelled out: `@opentelemetry/semantic-conventions`
// takes longer to load (about 25 ms) than a stage process that hands its records
// to the run's agent may spend in all; a test holds them equal to that package's.
import { StagetraceError } from "./errors.js";

const ATTR_ERROR_TYPE = "error.type";
const ATTR_EXCEPTION_MESSAGE = "exception.message";
const ATTR_EXCEPTION_STACKTRACE = "exception.stacktrace";
const ATTR_EXCEPTION_TYPE = "exception.type";
const ATTR_SERVICE_NAME = "service.name";

/**
 * The semantic-conventions version the names below follow; the scope of
 * every span, log record and metric carries it as its schema URL. Stable
 * names are those of `@opentelemetry/semantic-conventions`; the incubating
 * ones (`cicd.*`, `log.iostream`, ...) are spelled out here, as that
 * package advises libraries to do.
 */
export const SCHEMA_URL = "https://opentelemetry.io/schemas/1.41.0";

export const RESOURCE_ATTR = { serviceName: ATTR_SERVICE_NAME } as const;

/**
 * The `host.*` and `process.*` attributes of the process that sends the
 * telemetry. They go on the resource of its spans, log records and
 * heartbeats, not on each span, as the semantic conventions have them (the
 * names are incubating there, so spelled out here).
 */
export const PROCESS_RESOURCE_ATTR = {
  hostName: "host.name",
  hostArch: "host.arch",
  processPid: "process.pid",
  processCommandArgs: "process.command_args",
  processExecutableName: "process.executable.name",
  processExecutablePath: "process.executable.path",
  processRuntimeName: "process.runtime.name",
  processRuntimeVersion: "process.runtime.version",
  processRuntimeDescription: "process.runtime.description",
} as const;

/** The attributes of an OTLP log record that have a semantic-convention name. */
export const LOG_ATTR = {
  /** `stdout` or `stderr`, for a line a command run by `exec` wrote. */
  iostream: "log.iostream",
} as const;

/** The reason recorded for a stage the process left without calling finalize(). */
export const NOT_FINALIZED_REASON = "finalize() was not called";

/** The manifest's file name in every stage directory. */
export const MANIFEST_FILE = "manifest.json";

export const STAGE_SPAN_PREFIX = "stage ";
export const RUN_SPAN_PREFIX = "RUN ";
export const TRACER_NAME = "stagetrace";

/**
 * The attribute names of a stage span (and of the run span of `stagetrace run`):
 * OpenTelemetry's `cicd.*`, `process.*` and `error.type` where a standard
 * name exists, `stagetrace.*` otherwise. The host and pid of the stage's
 * process are on the resource (`PROCESS_RESOURCE_ATTR`); `processPid` and
 * `hostName` name them where spans exported by earlier versions carried
 * them, which the manifest still reads. `processArgs` and `processExitCode`
 * are on the span of a stage that ran a command (`stagetrace exec`, the
 * `RUN` span of `stagetrace run`): that command is a child process, not the
 * one the resource describes. Config and resource values are
 * `stagetrace.config.<key>` and `stagetrace.resource.<key>`; fields passed to
 * `finalize()` beyond its own options are `stagetrace.extra.<key>`.
 */
export const ATTR = {
  pipelineName: "cicd.pipeline.name",
  pipelineRunId: "cicd.pipeline.run.id",
  pipelineResult: "cicd.pipeline.result",
  taskName: "cicd.pipeline.task.name",
  taskRunId: "cicd.pipeline.task.run.id",
  taskResult: "cicd.pipeline.task.run.result",
  errorType: ATTR_ERROR_TYPE,
  /** Where to see this stage's run: `STAGETRACE_TASK_URL` (a template with `{run_id}`, `{stage}`, `{task_run_id}`), else the manifest's file URL. */
  taskRunUrl: "cicd.pipeline.task.run.url.full",
  processPid: "process.pid",
  processArgs: "process.command_args",
  processExitCode: "process.exit.code",
  /** The signal that ended a command run by `stagetrace exec` (no standard name yet). */
  processSignal: "stagetrace.process.signal",
  hostName: "host.name",

  stageNumber: "stagetrace.stage.number",
  stageDir: "stagetrace.stage.dir",
  stageStatus: "stagetrace.stage.status",
  stageStatusReason: "stagetrace.stage.status_reason",
  stageLog: "stagetrace.stage.log",
  runDir: "stagetrace.run.dir",
  pipelineLog: "stagetrace.pipeline.log",
  schemaVersion: "stagetrace.manifest.schema_version",
  manifestDisabled: "stagetrace.manifest.disabled",

  configPrefix: "stagetrace.config.",
  resourcePrefix: "stagetrace.resource.",
  /** Fields passed to `finalize(status, { ...extra })` beyond its own options: `stagetrace.extra.<key>`. */
  extraPrefix: "stagetrace.extra.",
} as const;

/** The name of the span event recorded for each tracked file (attributes: `FILE_ATTR`). */
export const FILE_EVENT = "stagetrace.file";
/** The name of the span event recorded for each warning (`addWarning`). */
export const WARNING_EVENT = "stagetrace.warning";
/**
 * The name of the span event recorded for each error (`addError`, a throwing stage), as OpenTelemetry's exception convention has it.
 */
export const EXCEPTION_EVENT = "exception";

/**
 * The attributes of a `stagetrace.file` event: the file's role (input, output,
 * intermediate), path, name, size, modification time, kind, whether it exists,
 * its content hash and algorithm, the stage it came from, and its metadata as
 * `stagetrace.file.meta.<key>`.
 */
export const FILE_ATTR = {
  role: "stagetrace.file.role",
  path: "file.path",
  name: "file.name",
  size: "file.size",
  modified: "file.modified",
  type: "stagetrace.file.type",
  kind: "stagetrace.file.kind",
  exists: "stagetrace.file.exists",
  hashAlgorithm: "stagetrace.file.hash_algorithm",
  /** The digest itself is stored under `stagetrace.file.<algorithm>`, e.g. `stagetrace.file.sha256`. */
  hashPrefix: "stagetrace.file.",
  fromStage: "stagetrace.file.from_stage",
  retained: "stagetrace.file.retained",
  reason: "stagetrace.file.reason",
  metaPrefix: "stagetrace.file.meta.",
} as const;

export const WARNING_ATTR = { message: "stagetrace.warning.message" } as const;

export const EXCEPTION_ATTR = {
  type: ATTR_EXCEPTION_TYPE,
  message: ATTR_EXCEPTION_MESSAGE,
  stacktrace: ATTR_EXCEPTION_STACKTRACE,
  /** The stage's own words for the error when they differ from the exception's message. */
  stageMessage: "stagetrace.error.message",
} as const;

/** The seed's statuses, plus `interrupted` for a stage stopped by a signal. */
export const STAGE_STATUSES = ["success", "failed", "skipped", "interrupted"] as const;

/** Throws the INVALID_STATUS error for a status that is none of STAGE_STATUSES (finalize of StageIO, its thin client and StageManifest). */
export function assertStageStatus(status: string): void {
  if (!(STAGE_STATUSES as readonly string[]).includes(status)) {
    throw new StagetraceError("INVALID_STATUS", `unknown stage status ${JSON.stringify(status)}; use one of ${STAGE_STATUSES.join(", ")}`);
  }
}

/** `cicd.pipeline.task.run.result` values for each stage status (semantic conventions). */
export const TASK_RESULT: Record<(typeof STAGE_STATUSES)[number], string> = {
  success: "success",
  failed: "failure",
  skipped: "skip",
  interrupted: "cancellation",
};

export const MANIFEST_SCHEMA_VERSION = "1.0";

/** The event the OTLP log worker sends back with its delivery counts. */
export const LOG_COUNTS_EVENT = "stagetrace:log-counts";

/** The message that tells the OTLP log worker when the process must be gone (epoch ms). */
export const LOG_DEADLINE_MESSAGE = "STAGETRACE_LOG_DEADLINE";

/**
 * The two fields by which the stage thread tells the OTLP log worker a
 * hosted stage's resource: a line `{"<RESOURCE_DEF>": n, "attributes": {...}}`
 * defines resource n, and a log line carrying `"<RESOURCE_REF>": n` is of a
 * stage with that resource. Neither reaches the backend.
 */
export const LOG_RESOURCE_DEF = "stagetrace.internal.resource_def";
export const LOG_RESOURCE_REF = "stagetrace.internal.resource";

/**
 * The OTLP metrics a stage emits while it is open (only when an OTLP endpoint
 * is set). Spans exist only once a stage has ended, so these are what tells a
 * running stage from one that was killed or hangs. In Prometheus (through the
 * Collector's `prometheus` exporter) they are `stagetrace_stage_active`,
 * `stagetrace_stage_heartbeat_seconds` and `stagetrace_stage_start_time_seconds`.
 */
export const METRIC = {
  /** Gauge: 1 while the stage is open, 0 once it has ended. */
  stageActive: "stagetrace.stage.active",
  /** Gauge, unit `s`: unix time of the stage's last heartbeat (its end time once it has ended). */
  stageHeartbeat: "stagetrace.stage.heartbeat",
  /** Gauge, unit `s`: unix time the stage started. */
  stageStartTime: "stagetrace.stage.start_time",
  /** Gauge, unit `s`: unix time of the stage's last progress (a log line, a tracked file, a warning). */
  stageProgress: "stagetrace.stage.progress",
  /** Gauge, unit `s`: how long the stage may go without progress before it counts as stalled. */
  stageStallAfter: "stagetrace.stage.stall_after",
  /** Gauge, unit `s`: how long the stage is expected to take at most; sent only when set. */
  stageExpectedDuration: "stagetrace.stage.expected_duration",
} as const;

/** Attributes of the stage metrics besides the span attributes they copy (`ATTR`). */
export const METRIC_ATTR = {
  /** The stage span's trace id, so an alert can link to the trace (only with `STAGETRACE_METRIC_RUN_LABELS=on`). */
  traceId: "stagetrace.trace_id",
} as const;
