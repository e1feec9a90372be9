import type { StageStatus } from "../types.js";

export const PIPELINE_FILE = "pipeline.json";
export const PIPELINE_SCHEMA_VERSION = "1";

/**
 * How a stage stands when looked at from outside: its manifest's status, or
 * `running` (manifest says so and its process is alive or unknown),
 * `abandoned` (manifest says running but its process is gone from this host),
 * `not_run` (in the stage list, no manifest).
 */
export type StageState = StageStatus | "running" | "abandoned" | "not_run";

/** The status of a whole run. */
export type RunStatus = "running" | "success" | "failed" | "interrupted";

/** One line of `pipeline.json` per stage. */
export interface PipelineStageEntry {
  /** The stage's number, or null when it has none. */
  number: number | null;
  /** The stage's name. */
  name: string;
  /** The stage's state (see `StageState`). */
  status: StageState;
  /** When the stage started (ISO 8601), or null when it never started. */
  started_at: string | null;
  /** When the stage ended (ISO 8601), or null while running or when it never ran. Stages of a DAG overlap: compare these, not the order. */
  ended_at?: string | null;
  /** How long the stage ran in milliseconds, or null while running or when it never ran. */
  duration_ms: number | null;
  /** The host the stage ran on, or null when it never ran. */
  host?: string | null;
  /** The stage's manifest, relative to the run directory; null when it has none. */
  manifest: string | null;
}

/** The content of `<run dir>/pipeline.json`, written by `stagetrace run`. */
export interface PipelineData {
  /** The version of this format (currently `1`). */
  schema_version: string;
  /** The pipeline's name: `--name`, else `STAGETRACE_PIPELINE`, else the command's name. */
  pipeline: string;
  /** The run's id, shared by every stage of the run. */
  run_id: string;
  /** The run directory, absolute. */
  run_dir: string;
  /** `running` while the command runs, then the run's outcome. */
  status: RunStatus;
  /** The run span's trace and span ids, and the span that started `stagetrace run` (from `TRACEPARENT`), if any. */
  trace: { trace_id: string; span_id: string; parent_span_id: string | null };
  /** When the run started (ISO 8601). */
  started_at: string;
  /** When the command returned (ISO 8601); null while running. */
  ended_at: string | null;
  /** How long the run took in milliseconds; null while running. */
  duration_ms: number | null;
  /** The command `stagetrace run` ran (for a run begun by `run begin`: that command line). */
  command: string[];
  /** The command's exit code (128 + the signal's number when a signal ended it); null while running, and for `run end` without `--exit-code`. */
  exit_code: number | null;
  /** The signal that ended the command, e.g. `SIGTERM`, or null. */
  signal: string | null;
  /** The host `stagetrace run` (or `run begin`) ran on. */
  host: string;
  /** The process id of `stagetrace run` (or `run begin`). */
  pid: number;
  /** One entry per stage, in stage-number order, including listed stages that never started (`not_run`). */
  stages: PipelineStageEntry[];
  /** When a stage re-run on its own after the run ended last updated this file (ISO 8601). */
  updated_at?: string | null;
}
