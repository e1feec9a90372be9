import { agentSpool } from "../agent/agent-env.js";
import type * as Full from "../index.js";
import { warnOnMixedOtelLines } from "../otel-install-check.js";

// What `import ... from "stagetrace"` loads. In a stage process under `stagetrace run`
// (STAGETRACE_AGENT set) the stage is handed to the run's agent, and the module graph
// is the small one of agent-exports.ts: no OpenTelemetry SDK, no exporter, no pino.
// Anywhere else it is src/index.ts itself. The types are src/index.ts's in both cases.
// With the full entry it says once on stderr when the OpenTelemetry packages it was
// installed with are of two OpenTelemetry JS lines (src/otel-install-check.ts).

const full = agentSpool(process.env) === null;
if (full) warnOnMixedOtelLines();
const entry: typeof Full = full ? await import("../index.js") : await import("./agent-exports.js");

export const {
  StageIO,
  runStage,
  StageManifest,
  manifestFromSpan,
  isStageSpan,
  spanFromManifest,
  loadRun,
  stageState,
  initTelemetry,
  shutdownTelemetry,
  stageSpanProcessors,
  contextFromEnv,
  Telemetry,
  ManifestExporter,
  ManifestSpanProcessor,
  MANIFEST_FILE,
  spansFromOtlpJson,
  spansFromOtlpJsonText,
  StagetraceError,
  ATTR,
  FILE_ATTR,
  FILE_EVENT,
  WARNING_EVENT,
  EXCEPTION_EVENT,
  STAGE_STATUSES,
} = entry;
