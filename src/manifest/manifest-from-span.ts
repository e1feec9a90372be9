import type { Attributes } from "@opentelemetry/api";
import { SpanStatusCode } from "@opentelemetry/api";
import { hrTimeToMilliseconds, hrTimeToTimeStamp } from "@opentelemetry/core";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace";
import {
  ATTR,
  EXCEPTION_ATTR,
  EXCEPTION_EVENT,
  FILE_ATTR,
  FILE_EVENT,
  MANIFEST_SCHEMA_VERSION,
  PROCESS_RESOURCE_ATTR,
  STAGE_SPAN_PREFIX,
  STAGE_STATUSES,
  WARNING_ATTR,
  WARNING_EVENT,
} from "../conventions.js";
import { collectPrefixed } from "../values/recorded-values.js";
import type { FileKind, ManifestData, ManifestFileEntry, ManifestStatus, ManifestTelemetry } from "../types.js";
import { StagetraceError } from "../errors.js";
import { StageManifest } from "./stage-manifest.js";

/** True for spans that stagetrace started for a stage (and so have a manifest). */
export function isStageSpan(span: Pick<ReadableSpan, "attributes">): boolean {
  return typeof span.attributes[ATTR.stageDir] === "string";
}

const str = (a: Attributes, k: string): string | null => (typeof a[k] === "string" ? a[k] : null);
const num = (a: Attributes, k: string): number | null => (typeof a[k] === "number" ? a[k] : null);
const strings = (v: unknown): string[] | null => (Array.isArray(v) ? (v as string[]) : null);

function fileEntry(event: TimedEvent): { role: string; entry: ManifestFileEntry } {
  const a = event.attributes ?? {};
  const algorithm = str(a, FILE_ATTR.hashAlgorithm);
  const entry: ManifestFileEntry = {
    path: str(a, FILE_ATTR.path) ?? "",
    name: str(a, FILE_ATTR.name) ?? "",
    type: str(a, FILE_ATTR.type) ?? "file",
    kind: (str(a, FILE_ATTR.kind) ?? "file") as FileKind,
    exists: a[FILE_ATTR.exists] !== false,
    size: num(a, FILE_ATTR.size),
    modified: str(a, FILE_ATTR.modified),
    hash: algorithm ? str(a, FILE_ATTR.hashPrefix + algorithm) : null,
    hash_algorithm: algorithm,
    from_stage: str(a, FILE_ATTR.fromStage),
    metadata: collectPrefixed(a, FILE_ATTR.metaPrefix),
  };
  const role = str(a, FILE_ATTR.role) ?? "input";
  if (role === "intermediate") {
    entry.retained = a[FILE_ATTR.retained] === true;
    entry.reason = str(a, FILE_ATTR.reason) ?? "";
  }
  return { role, entry };
}

/**
 * Builds a stage's manifest from its finished span and nothing else, so the
 * same manifest can be rebuilt later from an OTLP export of the trace.
 * `telemetry` is the one section a span cannot know about itself: how its
 * own export went. It defaults to what the span says about omitted events.
 *
 * A span that has not ended yet (`span.ended === false`) gives the manifest
 * a stage writes when it starts: `status: "running"`, `ended_at` and
 * `duration_ms` null, and whatever the span holds so far.
 */
export function manifestFromSpan(span: ReadableSpan, telemetry?: Partial<ManifestTelemetry>): StageManifest {
  const manifest = manifestHead(span, telemetry);
  const { data } = manifest;
  const lists = { input: data.inputs, output: data.outputs, intermediate: data.intermediate_files };
  for (const event of span.events) {
    if (event.name !== FILE_EVENT) continue;
    const { role, entry } = fileEntry(event);
    lists[listOf(role)].push(entry);
  }
  return manifest;
}

/** Which of the manifest's three file lists a file event's role goes to (an unknown role counts as an input). */
function listOf(role: string): "input" | "output" | "intermediate" {
  return role === "output" || role === "intermediate" ? role : "input";
}

const FILE_LISTS = [
  ["inputs", "input"],
  ["outputs", "output"],
  ["intermediate_files", "intermediate"],
] as const;

/**
 * The text of `manifestFromSpan(span, telemetry).toJSONString()`, in pieces:
 * the file lists are serialised `batch` entries at a time, so a stage with
 * 100,000 files never holds all its entries, or the whole text, at once.
 * Joined, the pieces are exactly that text (a test holds the two together).
 */
export function* manifestTextFromSpan(span: ReadableSpan, telemetry?: Partial<ManifestTelemetry>, batch = 1000): Generator<string> {
  const events = span.events;
  const byList = { input: [] as number[], output: [] as number[], intermediate: [] as number[] };
  for (let i = 0; i < events.length; i++) {
    if (events[i]!.name === FILE_EVENT) byList[listOf(str(events[i]!.attributes ?? {}, FILE_ATTR.role) ?? "input")].push(i);
  }
  // Serialised with empty lists, the head has `\n  "inputs": []` for each list: nested
  // keys are indented deeper, and a newline inside a string is escaped, so the
  // marker is found at the top level only.
  const text = manifestHead(span, telemetry).toJSONString();
  let at = 0;
  for (const [key, list] of FILE_LISTS) {
    const indices = byList[list];
    if (indices.length === 0) continue;
    const marker = `\n  "${key}": [`;
    const found = text.indexOf(marker, at);
    if (found < 0) throw new StagetraceError("INTERNAL", `manifest text has no top-level ${key} list`); // cannot happen: manifestHead always has it
    const open = found + marker.length;
    yield text.slice(at, open);
    for (let b = 0; b < indices.length; b += batch) {
      const entries = indices.slice(b, b + batch).map((i) => fileEntry(events[i]!).entry);
      // Nested one level down, the entries get the indentation they have in the whole document.
      const piece = JSON.stringify({ x: entries }, null, 2);
      yield (b === 0 ? "" : ",") + piece.slice(BATCH_PREFIX.length, piece.length - BATCH_SUFFIX.length);
    }
    yield "\n  ";
    at = open; // at the list's closing "]"
  }
  yield text.slice(at);
}

const BATCH_PREFIX = '{\n  "x": [';
const BATCH_SUFFIX = "\n  ]\n}";

/**
 * The `telemetry` section of the span's manifest: `telemetry` over the
 * defaults (local, nothing exported, the events the span says it dropped).
 */
export function manifestTelemetryOf(
  span: Pick<ReadableSpan, "droppedEventsCount">,
  telemetry?: Partial<ManifestTelemetry>,
): ManifestTelemetry {
  return {
    endpoint: null,
    state: "local",
    exported: 0,
    dropped: 0,
    events_omitted: span.droppedEventsCount,
    log_records_exported: 0,
    log_records_dropped: 0,
    ...telemetry,
  };
}

/** The manifest with everything but its file lists, which are left empty. */
function manifestHead(span: ReadableSpan, telemetry?: Partial<ManifestTelemetry>): StageManifest {
  const a = span.attributes;
  const r: Attributes = span.resource?.attributes ?? {};
  const ctx = span.spanContext();
  const running = span.ended === false;
  const data: ManifestData = {
    schema_version: str(a, ATTR.schemaVersion) ?? MANIFEST_SCHEMA_VERSION,
    stage: str(a, ATTR.taskName) ?? span.name.replace(STAGE_SPAN_PREFIX, ""),
    stage_number: num(a, ATTR.stageNumber),
    status: running ? "running" : statusOf(span),
    status_reason: str(a, ATTR.stageStatusReason),
    pipeline: { name: str(a, ATTR.pipelineName), run_id: str(a, ATTR.pipelineRunId), run_dir: str(a, ATTR.runDir) ?? "" },
    trace: { trace_id: ctx.traceId, span_id: ctx.spanId, parent_span_id: span.parentSpanContext?.spanId ?? null },
    started_at: hrTimeToTimeStamp(span.startTime),
    ended_at: running ? null : hrTimeToTimeStamp(span.endTime),
    duration_ms: running ? null : Math.round(hrTimeToMilliseconds(span.duration) * 1000) / 1000,
    inputs: [],
    outputs: [],
    intermediate_files: [],
    config: collectPrefixed(a, ATTR.configPrefix),
    warnings: [],
    errors: [],
    resources: collectPrefixed(a, ATTR.resourcePrefix),
    extra: collectPrefixed(a, ATTR.extraPrefix),
    // The process is the resource's; a span exported before it moved there has it in its attributes.
    // The command line on the span is that of the command the stage ran (`stagetrace exec`).
    process: {
      // A stage the run's agent hosts names its own process on the span: the resource is the agent's.
      pid: num(a, ATTR.processPid) ?? num(r, PROCESS_RESOURCE_ATTR.processPid),
      hostname: str(a, ATTR.hostName) ?? str(r, PROCESS_RESOURCE_ATTR.hostName),
      command_args: strings(a[ATTR.processArgs]) ?? strings(r[PROCESS_RESOURCE_ATTR.processCommandArgs]) ?? [],
      exit_code: num(a, ATTR.processExitCode),
    },
    logs: { stage_log: str(a, ATTR.stageLog), pipeline_log: str(a, ATTR.pipelineLog) },
    telemetry: manifestTelemetryOf(span, telemetry),
  };
  for (const event of span.events) {
    const ea = event.attributes ?? {};
    if (event.name === WARNING_EVENT) {
      data.warnings.push({ message: str(ea, WARNING_ATTR.message) ?? "", timestamp: hrTimeToTimeStamp(event.time) });
    } else if (event.name === EXCEPTION_EVENT) {
      data.errors.push({
        message: str(ea, EXCEPTION_ATTR.stageMessage) ?? str(ea, EXCEPTION_ATTR.message) ?? "",
        type: str(ea, EXCEPTION_ATTR.type) ?? "Error",
        stack: str(ea, EXCEPTION_ATTR.stacktrace),
        timestamp: hrTimeToTimeStamp(event.time),
      });
    }
  }
  return new StageManifest(data);
}

function statusOf(span: ReadableSpan): ManifestStatus {
  const s = span.attributes[ATTR.stageStatus];
  if (typeof s === "string" && (STAGE_STATUSES as readonly string[]).includes(s)) return s as ManifestStatus;
  return span.status.code === SpanStatusCode.ERROR ? "failed" : "success";
}
