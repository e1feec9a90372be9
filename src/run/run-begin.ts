import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { RUN_SPAN_PREFIX } from "../conventions.js";
import { StagetraceError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { randomHex } from "../random-hex.js";
import { resolvePropagators, resolveSampler } from "../config/telemetry-config.js";
import type { Env } from "../config/env-rules.js";
import { PIPELINE_FILE, PIPELINE_SCHEMA_VERSION, type PipelineData } from "./pipeline-summary.js";
import { notRunEntry } from "./pipeline-update.js";
import { formatTraceparent, traceparentFromEnv } from "./traceparent.js";
import { fileTimestamp, pipelineLogPath, readRunStateOf, RUN_STATE_FILE, writeRunState, type RunState } from "./run-directory.js";

// Beginning a run without the OpenTelemetry SDK: the run state every stage
// reads, pipeline.json, and the ids of the run span. `stagetrace run` does this
// before it spawns the pipeline, and loads the SDK while the pipeline runs
// (src/cli/run.ts); the SDK side (src/cli/run-session.ts) adds the sampler's
// decision where it cannot be made here.

/** Where a run's notes (a stage left running, a file it could not write) are written: the command's stderr. */
export interface NoteStream {
  write(text: string): unknown;
}

/** The context the run span is a child of: the caller's `TRACEPARENT`, or the run being resumed. */
export interface RunParentIds {
  traceId: string;
  spanId: string;
  traceFlags: number;
  traceState: string | null;
}

/** The run span as the tracer would start it: its ids, its sampled flag and its trace state. */
export interface RunSpanIds {
  traceId: string;
  spanId: string;
  traceFlags: number;
  traceState: string | null;
}

/** Starts the run span (only its ids: it is ended by endRun) as a child of `parent`. */
export type RunSpanStarter = (name: string, start: Date, parent: RunParentIds | null) => RunSpanIds;

export interface PrepareRunOptions {
  runDir: string;
  name: string;
  stages: string[] | null;
  /** The command line recorded in pipeline.json. */
  command: string[];
  /** Continue the run the directory holds (same run id, same trace) instead of starting a new one. */
  resume: boolean;
  /** The run id to use for a new run (default: start time plus random hex). */
  runId?: string;
  start: Date;
  /** The caller's context (`TRACEPARENT`), the parent of a new run's span. */
  parentFromEnv: RunParentIds | null;
  startSpan: RunSpanStarter;
  /** Prefix of the notes written on stderr, e.g. `stagetrace run begin`. */
  tool: string;
  stderr: NoteStream;
}

/** A run as begun: its state (also in the run directory), its pipeline.json so far, and its pipeline log. */
export interface PreparedRun {
  state: RunState & { trace: NonNullable<RunState["trace"]> };
  summary: PipelineData;
  pipelineLog: string;
  /** Whether the run continues the one the directory held. */
  resumed: boolean;
}

/** `TRACEPARENT` of the run span. */
export function traceparentOf(t: NonNullable<RunState["trace"]>): string {
  return formatTraceparent(t.trace_id, t.span_id, t.trace_flags);
}

/**
 * What each task of the run needs in its environment to join it: the run
 * span's context, the run directory, run id, pipeline name and stage list.
 * The pipeline log is left out on purpose: it is in the run state, relative
 * to the run directory, which another host may mount at another path.
 */
export function runEnvironment(begun: Pick<PreparedRun, "state">, runDir: string): Record<string, string> {
  const { state } = begun;
  const env: Record<string, string> = { TRACEPARENT: traceparentOf(state.trace) };
  if (state.trace.tracestate) env.TRACESTATE = state.trace.tracestate;
  env.OUTPUT_DIR = runDir;
  env.STAGETRACE_RUN_DIR = runDir;
  env.STAGETRACE_RUN_ID = state.run_id;
  if (state.pipeline) env.STAGETRACE_PIPELINE = state.pipeline;
  if (state.stages && state.stages.length > 0) env.STAGETRACE_STAGES = state.stages.join(",");
  return env;
}

/** Where the run's lines are written: the log files of the process (LogFiles, src/log/log-files.ts). */
export interface RunLogFiles {
  open(path: string, runDir?: string): { write(line: string): void; flush(): void };
}

/** A line of the run's own in the pipeline log, in the stages' format. */
export function runLogLine(
  logFiles: RunLogFiles,
  state: PreparedRun["state"],
  runDir: string,
  level: "INFO" | "WARN" | "ERROR",
  msg: string,
  extra: Record<string, unknown> = {},
): void {
  const file = logFiles.open(pipelineLogPath(runDir, state), runDir);
  const line = {
    level,
    time: Date.now(),
    pid: process.pid,
    hostname: hostname(),
    pipeline: state.pipeline ?? undefined,
    run_id: state.run_id,
    trace_id: state.trace.trace_id,
    span_id: state.trace.span_id,
    trace_flags: state.trace.trace_flags,
    ...extra,
    msg,
  };
  file.write(JSON.stringify(line) + "\n");
  file.flush();
}

/** The run's first line in the pipeline log, before any stage's. */
export function announceRun(logFiles: RunLogFiles, run: PreparedRun, runDir: string, command: string[]): void {
  const how = run.resumed ? "resumed" : "started";
  runLogLine(logFiles, run.state, runDir, "INFO", `pipeline ${run.state.pipeline} ${how}: ${command.join(" ")}`, { run_dir: runDir });
}

/** Writes pipeline.json; a failure is a note on `stderr`, never the run's end. */
export function writePipelineSummary(runDir: string, summary: PipelineData, tool: string, stderr: NoteStream): void {
  const path = join(runDir, PIPELINE_FILE);
  try {
    writeFileAtomic(path, JSON.stringify(summary, null, 2) + "\n");
  } catch (err) {
    stderr.write(`${tool}: could not write ${path}: ${(err as Error).message}\n`);
  }
}

/**
 * Begins a run in `runDir`: a new run id and run span (or, with `resume`, the
 * run the directory holds, under a new run span that is a child of the old
 * one), the run state file every stage reads, and pipeline.json with status
 * `running`. The run span is not ended here: `endRun`, in this process or any
 * other, ends it under the ids recorded in the state.
 */
export function prepareRun(o: PrepareRunOptions): PreparedRun {
  mkdirSync(o.runDir, { recursive: true });
  const previous = readRunStateOf(o.runDir);
  if (o.resume && (!previous || !previous.trace)) {
    throw new StagetraceError("NOT_FOUND", `--resume: ${o.runDir} holds no run to resume (no ${RUN_STATE_FILE} with a run span)`);
  }
  if (previous && !o.resume) {
    o.stderr.write(
      `${o.tool}: ${o.runDir} already holds run ${previous.run_id}; starting a new run (pass --resume to continue that one)\n`,
    );
  }
  const resumed = o.resume ? previous! : null;
  // Whatever started the run (a CI job, say) may pass its own TRACEPARENT; a resumed run hangs under the run it resumes.
  const parent = resumed?.trace ? resumedParent(resumed.trace) : o.parentFromEnv;
  const runId = resumed?.run_id ?? o.runId ?? `${fileTimestamp(o.start)}-${randomHex(3)}`;
  const pipelineLog = resumed?.pipeline_log ?? join("logs", `99_pipeline_${fileTimestamp(o.start)}.log`);
  const span = o.startSpan(RUN_SPAN_PREFIX + o.name, o.start, parent);
  const stages = o.stages ?? resumed?.stages ?? null;
  const state: PreparedRun["state"] = {
    run_id: runId,
    started_at: o.start.toISOString(),
    pipeline_log: pipelineLog,
    host: hostname(),
    pipeline: o.name,
    stages,
    trace: {
      trace_id: span.traceId,
      span_id: span.spanId,
      parent_span_id: parent?.spanId ?? null,
      trace_flags: span.traceFlags,
      tracestate: span.traceState || parent?.traceState || null,
    },
    begun_by: { host: hostname(), pid: process.pid, command: o.command },
    ended_at: null,
  };
  writeRunState(o.runDir, state);
  const summary: PipelineData = {
    schema_version: PIPELINE_SCHEMA_VERSION,
    pipeline: o.name,
    run_id: runId,
    run_dir: o.runDir,
    status: "running",
    trace: { trace_id: span.traceId, span_id: span.spanId, parent_span_id: state.trace.parent_span_id },
    started_at: state.started_at,
    ended_at: null,
    duration_ms: null,
    command: o.command,
    exit_code: null,
    signal: null,
    host: hostname(),
    pid: process.pid,
    stages: (stages ?? []).map((s, i) => notRunEntry(s, i + 1)),
  };
  writePipelineSummary(o.runDir, summary, o.tool, o.stderr);
  return { state, summary, pipelineLog: pipelineLogPath(o.runDir, state), resumed: resumed !== null };
}

function resumedParent(t: NonNullable<RunState["trace"]>): RunParentIds {
  return { traceId: t.trace_id, spanId: t.span_id, traceFlags: t.trace_flags, traceState: t.tracestate ?? null };
}

/**
 * The run span's start without the SDK, where the configured sampler's
 * decision follows from the configuration alone: `always_on`, `always_off`,
 * and the parent-based ones with a parent, or with `always_on`/`always_off`
 * at the root. The span ids are random, as the SDK's are. Null (the SDK must
 * start the span) for a resumed run (its parent is the run it resumes), a
 * trace-id ratio that decides, a `TRACESTATE` or `BAGGAGE` to carry on (the
 * propagators parse and rewrite those), and `OTEL_PROPAGATORS` without
 * `tracecontext`. test/run/run-begin.test.ts holds each decision to the SDK's
 * own sampler.
 */
export function startWithoutSdk(env: Env, resume: boolean): { parent: RunParentIds | null; startSpan: RunSpanStarter } | null {
  const quiet = (): void => {};
  if (resume || env.TRACESTATE?.trim() || env.BAGGAGE?.trim()) return null;
  if (!resolvePropagators(env, quiet).includes("tracecontext")) return null;
  const fromEnv = traceparentFromEnv(env);
  const parent = fromEnv ? { ...fromEnv, traceState: null } : null;
  const traceFlags = sampledWithoutSdk(resolveSampler(env, quiet).name, parent);
  if (traceFlags === null) return null;
  return {
    parent,
    startSpan: (_name, _start, p) => ({
      traceId: p?.traceId ?? randomHex(16),
      spanId: randomHex(8),
      traceFlags,
      traceState: null,
    }),
  };
}

/** The sampled flag `sampler` gives a root span with `parent`, or null when it depends on the trace id. */
export function sampledWithoutSdk(sampler: string, parent: Pick<RunParentIds, "traceFlags"> | null): 0 | 1 | null {
  const root = sampler.replace(/^parentbased_/, "");
  if (sampler.startsWith("parentbased_") && parent) return (parent.traceFlags & 1) as 0 | 1;
  return root === "always_on" ? 1 : root === "always_off" ? 0 : null;
}
