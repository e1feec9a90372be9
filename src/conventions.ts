/**
 * The span contract: attribute and event names shared by the code that writes
 * spans (stage/) and the code that reads them back (manifest/). Standard
 * OpenTelemetry names first, `stagetrace.*` for what has no standard name.
 */

export const STAGE_SPAN_PREFIX = "stage ";
export const RUN_SPAN_PREFIX = "RUN ";
export const TRACER_NAME = "stagetrace";

export const ATTR = {
  pipelineName: "cicd.pipeline.name",
  pipelineRunId: "cicd.pipeline.run.id",
  pipelineResult: "cicd.pipeline.result",
  taskName: "cicd.pipeline.task.name",
  taskRunId: "cicd.pipeline.task.run.id",
  taskResult: "cicd.pipeline.task.run.result",
  errorType: "error.type",
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
} as const;

export const FILE_EVENT = "stagetrace.file";
export const WARNING_EVENT = "stagetrace.warning";
export const EXCEPTION_EVENT = "exception";

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
  type: "exception.type",
  message: "exception.message",
  stacktrace: "exception.stacktrace",
  /** The stage's own words for the error when they differ from the exception's message. */
  stageMessage: "stagetrace.error.message",
} as const;

/** The seed's statuses, plus `interrupted` for a stage stopped by a signal. */
export const STAGE_STATUSES = ["success", "failed", "skipped", "interrupted"] as const;

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
