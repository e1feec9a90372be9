import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
} from "@opentelemetry/api";
import { hrTimeDuration, TraceState } from "@opentelemetry/core";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { hostname } from "node:os";
import { join } from "node:path";
import { ATTR, RUN_SPAN_PREFIX, SCHEMA_URL, TRACER_NAME } from "../conventions.js";
import { StagetraceError } from "../errors.js";
import { resourceOfProcess, spanFromManifest, timestampToHrTime } from "../manifest/span-from-manifest.js";
import { contextFromEnv, type Telemetry } from "../telemetry/telemetry.js";
import type { ManifestData } from "../types.js";
import { readLease, sameProcessTable } from "../run/lease.js";
import { lastSignOfLife, loadRun, type LoadedRun } from "../run/load-run.js";
import { PIPELINE_SCHEMA_VERSION, type PipelineData, type RunStatus } from "../run/pipeline-summary.js";
import { pipelineLogPath, readRunStateOf, RUN_STATE_FILE, writeRunState, type RunState } from "../run/run-directory.js";
import {
  announceRun,
  prepareRun,
  runLogLine,
  writePipelineSummary,
  type NoteStream,
  type PrepareRunOptions,
  type PreparedRun,
  type RunParentIds,
} from "../run/run-begin.js";
import { runParentContext } from "../run/run-parent.js";
import { BAD, ofRun, readPipeline, stageEntries } from "../run/pipeline-update.js";

export interface BeginRunOptions extends Omit<PrepareRunOptions, "parentFromEnv" | "startSpan"> {
  telemetry: Telemetry;
}

/** A run as begun, with the run span as the parent context of the stages. */
export interface BegunRun extends PreparedRun {
  parent: Context;
}

/**
 * Begins a run (prepareRun, src/run/run-begin.ts) with the run span started
 * by the tracer, so that the configured sampler decides, and writes the
 * run's first line in the pipeline log.
 */
export function beginRun(o: BeginRunOptions): BegunRun {
  const prepared = prepareRun({
    ...o,
    parentFromEnv: parentIdsOf(contextFromEnv(context.active())),
    // A span from the tracer, so that the configured sampler decides; it is never ended here (see endRun).
    startSpan(name, startTime, parent) {
      const ctx = o.telemetry.tracer
        .startSpan(name, { kind: SpanKind.SERVER, startTime }, parent ? runParentContext(parentState(parent)) : ROOT_CONTEXT)
        .spanContext();
      return { traceId: ctx.traceId, spanId: ctx.spanId, traceFlags: ctx.traceFlags, traceState: ctx.traceState?.serialize() || null };
    },
  });
  announceRun(o.telemetry.logFiles, prepared, o.runDir, o.command);
  return { ...prepared, parent: runParentContext(prepared.state.trace) };
}

function parentIdsOf(ctx: Context): RunParentIds | null {
  const p = trace.getSpanContext(ctx);
  if (!p || !isSpanContextValid(p)) return null;
  return { traceId: p.traceId, spanId: p.spanId, traceFlags: p.traceFlags, traceState: p.traceState?.serialize() || null };
}

function parentState(p: RunParentIds): NonNullable<RunState["trace"]> {
  return { trace_id: p.traceId, span_id: p.spanId, parent_span_id: null, trace_flags: p.traceFlags, tracestate: p.traceState };
}

/**
 * Ends, as interrupted, the span of every stage of the run that still says
 * `running` and whose process is gone (by the local process table for a stage
 * of this host, by its lease for a stage of another host). Returns how many
 * it closed.
 */
export function closeAbandonedStages(
  run: LoadedRun,
  runId: string,
  telemetry: Telemetry,
  tool: string,
  stderr: NoteStream,
  runTrace?: { trace_id: string; trace_flags: number },
): number {
  const now = new Date();
  let closed = 0;
  for (const stage of run.stages) {
    if (!stage.manifest || !ofRun(stage, runId)) continue;
    if (stage.state === "running") {
      const lease = readLease(stage.dir);
      const host = lease?.host ?? stage.manifest.process.hostname;
      const where =
        lease && !sameProcessTable(lease)
          ? `on host ${host} (lease renewed ${lease.renewed_at}, timeout ${lease.timeout_s} s)`
          : `and its process ${stage.manifest.process.pid} is alive`;
      stderr.write(`${tool}: stage ${stage.name} still says running ${where}; leaving it as it is\n`);
      continue;
    }
    if (stage.state !== "abandoned") continue;
    const m: ManifestData = structuredClone(stage.manifest);
    const elsewhere = m.process.hostname !== null && m.process.hostname !== hostname();
    const reason = elsewhere
      ? `the stage's lease on host ${m.process.hostname} (pid ${m.process.pid}) expired without the stage finishing (host or process gone?); marked interrupted by ${tool}`
      : `the stage's process (pid ${m.process.pid}) ended without finishing the stage (killed?); marked interrupted by ${tool}`;
    m.status = "interrupted";
    m.status_reason = reason;
    // It ended when it last showed a sign of life (its files' newest write), not when run noticed.
    const started = Date.parse(m.started_at ?? "");
    const ended = Math.max(lastSignOfLife(stage.dir) ?? now.getTime(), Number.isFinite(started) ? started : 0);
    m.ended_at = new Date(ended).toISOString();
    if (Number.isFinite(started)) m.duration_ms = ended - started;
    m.errors.push({ message: reason, type: "StageAbandoned", stack: null, timestamp: now.toISOString() });
    closed++;
    try {
      // The stage's span belongs to the run's trace: sampled only if the run's span is. Its
      // process was killed by the system, which the conventions call `error`, not a cancellation.
      const traceFlags = runTrace && m.trace.trace_id === runTrace.trace_id ? runTrace.trace_flags : undefined;
      telemetry.emitEndedSpan(spanFromManifest(m, stage.dir, telemetry.resource, { traceFlags, taskResult: "error" }));
      stderr.write(`${tool}: stage ${stage.name} was left running by a process that is gone; marked interrupted\n`);
    } catch (err) {
      stderr.write(`${tool}: could not close stage ${stage.name}: ${(err as Error).message}\n`);
    }
  }
  return closed;
}

export interface EndRunOptions {
  runDir: string;
  telemetry: Telemetry;
  end: Date;
  /** The pipeline command's exit code, or null when there was no single command (`run end` without `--exit-code`). */
  exitCode: number | null;
  signal: string | null;
  /** What the caller says of the run (`run end --status`); the stages can still make a `success` `failed`. */
  requested?: Exclude<RunStatus, "running"> | null;
  tool: string;
  /** Where the notes go: the command's stderr. */
  stderr: NoteStream;
}

export interface EndedRun {
  summary: PipelineData;
  run: LoadedRun;
  state: BegunRun["state"];
}

/** The run state of `runDir`, which must hold a begun run. */
export function begunRunState(runDir: string): BegunRun["state"] {
  const state = readRunStateOf(runDir);
  if (!state || !state.trace) {
    throw new StagetraceError(
      "NOT_FOUND",
      `${runDir} holds no begun run (no ${RUN_STATE_FILE} with a run span): start it with "stagetrace run begin --run-dir ${runDir}"`,
    );
  }
  return state as BegunRun["state"];
}

/**
 * Ends the run the directory holds: closes stages left running by processes
 * that are gone, writes pipeline.json with every stage (and the listed ones
 * that never ran), and ends the run span under the ids it began with.
 */
export function endRun(o: EndRunOptions): EndedRun {
  const state = begunRunState(o.runDir);
  if (state.ended_at) {
    throw new StagetraceError("INVALID_OPTION", `run ${state.run_id} in ${o.runDir} already ended at ${state.ended_at}; nothing done`);
  }
  const found = loadRun(o.runDir);
  // Read again only when a stage was closed (its manifest rewritten): a large manifest costs its parse twice otherwise.
  const run = closeAbandonedStages(found, state.run_id, o.telemetry, o.tool, o.stderr, state.trace) > 0 ? loadRun(o.runDir) : found;
  const previous = readPipeline(o.runDir);
  const stages = stageEntries(run, state.stages ?? null, state.run_id);
  const stageProblem = stages.some((s) => BAD.has(s.status));
  const status: RunStatus =
    o.signal || o.requested === "interrupted"
      ? "interrupted"
      : (o.exitCode !== null && o.exitCode !== 0) || o.requested === "failed" || stageProblem
        ? "failed"
        : "success";
  const begunBy = state.begun_by ?? {
    host: state.host,
    pid: previous?.pid ?? process.pid,
    command: previous?.command ?? ["stagetrace", "run"],
  };
  const summary: PipelineData = {
    schema_version: PIPELINE_SCHEMA_VERSION,
    pipeline: state.pipeline ?? previous?.pipeline ?? "pipeline",
    run_id: state.run_id,
    run_dir: o.runDir,
    status,
    trace: { trace_id: state.trace.trace_id, span_id: state.trace.span_id, parent_span_id: state.trace.parent_span_id },
    started_at: state.started_at,
    ended_at: o.end.toISOString(),
    duration_ms: Math.max(0, o.end.getTime() - Date.parse(state.started_at)),
    command: begunBy.command.length > 0 ? begunBy.command : ["stagetrace", "run"],
    exit_code: o.exitCode,
    signal: o.signal,
    host: begunBy.host,
    pid: begunBy.pid,
    stages,
  };
  o.telemetry.emitEndedSpan(runSpan(state, summary, o.telemetry));
  writePipelineSummary(o.runDir, summary, o.tool, o.stderr);
  try {
    writeRunState(o.runDir, { ...state, ended_at: summary.ended_at });
  } catch (err) {
    o.stderr.write(`${o.tool}: could not record the run's end in ${join(o.runDir, RUN_STATE_FILE)}: ${(err as Error).message}\n`);
  }
  const how = o.exitCode === null ? "" : ` (exit code ${o.exitCode})`;
  runLogLine(
    o.telemetry.logFiles,
    state,
    o.runDir,
    status === "success" ? "INFO" : "ERROR",
    `pipeline ${summary.pipeline} ${status}${how} after ${summary.duration_ms} ms`,
    {
      status,
      exit_code: o.exitCode,
    },
  );
  return { summary, run, state };
}

/** The run span `RUN <name>`, ended, under the trace and span ids the run began with. */
function runSpan(state: BegunRun["state"], summary: PipelineData, telemetry: Telemetry): ReadableSpan {
  const t = state.trace;
  const startTime = timestampToHrTime(summary.started_at);
  const endTime = timestampToHrTime(summary.ended_at!);
  const a: Attributes = {
    [ATTR.pipelineName]: summary.pipeline,
    [ATTR.pipelineRunId]: summary.run_id,
    [ATTR.runDir]: summary.run_dir,
    [ATTR.pipelineLog]: pipelineLogPath(summary.run_dir, state),
    // The pipeline's command, a child of the process that began the run (the resource's).
    [ATTR.processArgs]: summary.command,
    // SIGKILL is how the system (the OOM killer, a CI runner's timeout) ends a
    // pipeline: the conventions call that `error`; a forwarded SIGINT/SIGTERM is a `cancellation`.
    [ATTR.pipelineResult]:
      summary.status === "success"
        ? "success"
        : summary.signal === "SIGKILL"
          ? "error"
          : summary.status === "interrupted"
            ? "cancellation"
            : "failure",
  };
  if (summary.exit_code !== null) a[ATTR.processExitCode] = summary.exit_code;
  const bad = summary.stages.find((s) => BAD.has(s.status));
  // A failed run says why in error.type: the signal, the exit code, or a stage that did not succeed.
  if (summary.status !== "success") {
    a[ATTR.errorType] =
      summary.signal ??
      (summary.exit_code !== null && summary.exit_code !== 0 ? String(summary.exit_code) : bad ? "stage_failed" : summary.status);
  }
  const message = summary.signal
    ? `killed by ${summary.signal}`
    : summary.exit_code !== null && summary.exit_code !== 0
      ? `exit code ${summary.exit_code}`
      : bad
        ? `stage ${bad.name} ${bad.status}`
        : `run ${summary.status}`;
  return {
    name: RUN_SPAN_PREFIX + summary.pipeline,
    kind: SpanKind.SERVER,
    spanContext: () => ({
      traceId: t.trace_id,
      spanId: t.span_id,
      traceFlags: t.trace_flags,
      ...(t.tracestate ? { traceState: new TraceState(t.tracestate) } : {}),
    }),
    parentSpanContext: t.parent_span_id
      ? { traceId: t.trace_id, spanId: t.parent_span_id, traceFlags: t.trace_flags & TraceFlags.SAMPLED, isRemote: true }
      : undefined,
    startTime,
    endTime,
    duration: hrTimeDuration(startTime, endTime),
    // Success leaves the status unset, as the conventions ask of instrumentation.
    status: summary.status === "success" ? { code: SpanStatusCode.UNSET } : { code: SpanStatusCode.ERROR, message },
    attributes: a,
    links: [],
    events: [],
    ended: true,
    // The run began in the process `run begin` (or `run`) ran in, maybe on another host.
    resource:
      summary.host === hostname() && summary.pid === process.pid
        ? telemetry.resource
        : resourceOfProcess(telemetry.resource, summary.host, summary.pid),
    instrumentationScope: { name: TRACER_NAME, schemaUrl: SCHEMA_URL },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
