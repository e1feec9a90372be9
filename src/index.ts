export { StageIO } from "./stage/stage-io.js";
export { runStage } from "./stage/run-stage.js";
export { StageManifest } from "./manifest/stage-manifest.js";
export { manifestFromSpan, isStageSpan } from "./manifest/manifest-from-span.js";
export { spanFromManifest } from "./manifest/span-from-manifest.js";
export { loadRun, stageState } from "./run/load-run.js";
export type { LoadedRun, LoadedStage } from "./run/load-run.js";
export type { PipelineData, PipelineStageEntry, RunStatus, StageState } from "./run/pipeline-summary.js";
export { initTelemetry, shutdownTelemetry, stageSpanProcessors, contextFromEnv, Telemetry } from "./telemetry/telemetry.js";
export { ManifestExporter, ManifestSpanProcessor, MANIFEST_FILE } from "../exporters/manifest-exporter.js";
export { spansFromOtlpJson, spansFromOtlpJsonText } from "./otlp/otlp-json.js";
export { StagetraceError } from "./errors.js";
export type { StagetraceErrorCode } from "./errors.js";
export { ATTR, FILE_ATTR, FILE_EVENT, WARNING_EVENT, EXCEPTION_EVENT, STAGE_STATUSES } from "./conventions.js";
export type {
  StageStatus,
  ManifestStatus,
  FileRole,
  FileKind,
  RecordedValue,
  ManifestData,
  ManifestFileEntry,
  ManifestWarning,
  ManifestError,
  ManifestTelemetry,
  StageOptions,
  FinalizeOptions,
  TelemetryOptions,
  TelemetryReport,
  TrackOptions,
} from "./types.js";
