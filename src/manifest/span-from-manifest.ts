import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime } from "@opentelemetry/api";
import { hrTimeDuration } from "@opentelemetry/core";
import { emptyResource, resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace";
import {
  ATTR,
  EXCEPTION_ATTR,
  EXCEPTION_EVENT,
  FILE_ATTR,
  FILE_EVENT,
  PROCESS_RESOURCE_ATTR,
  STAGE_SPAN_PREFIX,
  TASK_RESULT,
  TRACER_NAME,
  SCHEMA_URL,
  WARNING_ATTR,
  WARNING_EVENT,
} from "../conventions.js";
import type { FileRole, ManifestData, ManifestFileEntry, StageStatus } from "../types.js";
import { StagetraceError } from "../errors.js";
import { fileEventAttributes } from "./file-event.js";
import { NULL_MARKER } from "../values/recorded-values.js";

/** An RFC 3339 time with up to nanosecond digits, as an exact HrTime. */
export function timestampToHrTime(value: string): HrTime {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (!m) throw new StagetraceError("INVALID_INPUT", `not an RFC 3339 time: ${JSON.stringify(value)}`);
  const seconds = Date.parse(`${m[1]}${m[3]}`) / 1000;
  if (Number.isNaN(seconds)) throw new StagetraceError("INVALID_INPUT", `not an RFC 3339 time: ${JSON.stringify(value)}`);
  const nanos = Number((m[2] ?? "").padEnd(9, "0").slice(0, 9));
  return [seconds, nanos];
}

function fileEvent(role: FileRole, f: ManifestFileEntry, time: HrTime): TimedEvent {
  const a = fileEventAttributes({
    role,
    path: f.path,
    name: f.name,
    type: f.type,
    kind: f.kind,
    exists: f.exists,
    size: f.size,
    modified: f.modified,
    hash: f.hash,
    hashAlgorithm: f.hash_algorithm,
    fromStage: f.from_stage,
    ...(role === "intermediate" ? { retained: f.retained ?? false, reason: f.reason ?? "" } : {}),
  });
  for (const [k, v] of Object.entries(f.metadata)) if (v !== null) a[FILE_ATTR.metaPrefix + k] = v;
  return { name: FILE_EVENT, attributes: a, time, droppedAttributesCount: 0 };
}

/**
 * `base` (the service and the rest) for a span another process started: its
 * `host.*` and `process.*` attributes replaced by that process's host and
 * pid (null: unknown, left out).
 */
export function resourceOfProcess(base: Resource, host: string | null, pid: number | null): Resource {
  const attributes: Attributes = {};
  for (const [k, v] of Object.entries(base.attributes)) if (!k.startsWith("host.") && !k.startsWith("process.")) attributes[k] = v;
  if (host !== null) attributes[PROCESS_RESOURCE_ATTR.hostName] = host;
  if (pid !== null) attributes[PROCESS_RESOURCE_ATTR.processPid] = pid;
  return resourceFromAttributes(attributes, base.schemaUrl ? { schemaUrl: base.schemaUrl } : undefined);
}

/**
 * The inverse of `manifestFromSpan`: the ended stage span a manifest
 * describes, with the same trace and span ids, on `resource` with the stage process's host and pid. `stagetrace run` uses it to
 * end, as interrupted, the span of a stage whose process died before it could
 * (its manifest still said `running`), so the backend gets that span too.
 * `manifestFromSpan(spanFromManifest(m))` gives `m` back, `telemetry` aside.
 */
export function spanFromManifest(
  m: ManifestData,
  stageDir: string,
  resource: Resource = emptyResource(),
  options: {
    /** The trace flags of the span (sampled or not); default sampled. */
    traceFlags?: number | undefined;
    /** `cicd.pipeline.task.run.result` when the status alone does not say it (`error` for a stage the system killed). */
    taskResult?: string;
  } = {},
): ReadableSpan {
  const traceFlags = options.traceFlags ?? TraceFlags.SAMPLED;
  if (!m.ended_at)
    throw new StagetraceError("INVALID_INPUT", `the manifest of stage ${m.stage} has no ended_at; set it before rebuilding the span`);
  const status = m.status as StageStatus;
  const a: Attributes = {
    [ATTR.taskName]: m.stage,
    [ATTR.stageDir]: stageDir,
    [ATTR.runDir]: m.pipeline.run_dir,
    [ATTR.schemaVersion]: m.schema_version,
    [ATTR.stageStatus]: status,
    [ATTR.processArgs]: m.process.command_args,
  };
  if (options.taskResult !== undefined) a[ATTR.taskResult] = options.taskResult;
  else if (TASK_RESULT[status]) a[ATTR.taskResult] = TASK_RESULT[status];
  if (m.pipeline.run_id !== null) {
    a[ATTR.pipelineRunId] = m.pipeline.run_id;
    a[ATTR.taskRunId] = `${m.pipeline.run_id}/${stageDir.split(/[\\/]/).pop()}`;
  }
  if (m.pipeline.name !== null) a[ATTR.pipelineName] = m.pipeline.name;
  if (m.stage_number !== null) a[ATTR.stageNumber] = m.stage_number;
  if (m.status_reason !== null) a[ATTR.stageStatusReason] = m.status_reason;
  if (m.logs.stage_log !== null) a[ATTR.stageLog] = m.logs.stage_log;
  if (m.logs.pipeline_log !== null) a[ATTR.pipelineLog] = m.logs.pipeline_log;
  if (m.process.exit_code !== null) a[ATTR.processExitCode] = m.process.exit_code;
  if (status === "failed" || status === "interrupted") a[ATTR.errorType] = m.errors[0]?.type ?? status;
  for (const [k, v] of Object.entries(m.config)) if (v !== null) a[ATTR.configPrefix + k] = v;
  for (const [k, v] of Object.entries(m.resources)) if (v !== null) a[ATTR.resourcePrefix + k] = v;
  for (const [k, v] of Object.entries(m.extra ?? {})) a[ATTR.extraPrefix + k] = v === null ? NULL_MARKER : v;

  const startTime = timestampToHrTime(m.started_at);
  const endTime = timestampToHrTime(m.ended_at);
  const events: TimedEvent[] = [
    ...m.inputs.map((f) => fileEvent("input", f, startTime)),
    ...m.outputs.map((f) => fileEvent("output", f, startTime)),
    ...m.intermediate_files.map((f) => fileEvent("intermediate", f, startTime)),
    ...m.warnings.map((w) => ({
      name: WARNING_EVENT,
      attributes: { [WARNING_ATTR.message]: w.message },
      time: timestampToHrTime(w.timestamp),
      droppedAttributesCount: 0,
    })),
    ...m.errors.map((e) => {
      const ea: Attributes = {
        [EXCEPTION_ATTR.type]: e.type,
        [EXCEPTION_ATTR.message]: e.message,
        [EXCEPTION_ATTR.stageMessage]: e.message,
      };
      if (e.stack !== null) ea[EXCEPTION_ATTR.stacktrace] = e.stack;
      return { name: EXCEPTION_EVENT, attributes: ea, time: timestampToHrTime(e.timestamp), droppedAttributesCount: 0 };
    }),
  ];
  const failed = status === "failed" || status === "interrupted";
  return {
    name: STAGE_SPAN_PREFIX + m.stage,
    kind: SpanKind.INTERNAL,
    spanContext: () => ({ traceId: m.trace.trace_id, spanId: m.trace.span_id, traceFlags }),
    parentSpanContext:
      m.trace.parent_span_id === null
        ? undefined
        : { traceId: m.trace.trace_id, spanId: m.trace.parent_span_id, traceFlags, isRemote: true },
    startTime,
    endTime,
    duration: hrTimeDuration(startTime, endTime),
    status: failed ? { code: SpanStatusCode.ERROR, message: m.status_reason ?? `stage ${status}` } : { code: SpanStatusCode.UNSET },
    attributes: a,
    links: [],
    events,
    ended: true,
    resource: resourceOfProcess(resource, m.process.hostname, m.process.pid),
    instrumentationScope: { name: TRACER_NAME, schemaUrl: SCHEMA_URL },
    droppedAttributesCount: 0,
    droppedEventsCount: m.telemetry.events_omitted,
    droppedLinksCount: 0,
  };
}
