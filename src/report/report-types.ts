/**
 * The shape of the run report's data: built on the server side by
 * `buildReportData` (report-data.ts), embedded in the page as JSON, and read
 * by the page's script (client/). Types and constants only, no imports of
 * Node, so the browser bundle can share them.
 */
import type { RecordedValue } from "../types.js";

/** Flags on a file node, as one bit field. */
export const FILE_FLAG = {
  /** The file did not exist when a stage tracked it. */
  missing: 1,
  /** Consumed from a stage's directory, but that stage did not track it. */
  untracked: 2,
  /** Consumed from outside every stage directory, and no stage produced it. */
  external: 4,
  /** Consumed with a content hash other than the one its producer recorded. */
  modified: 8,
} as const;

export type FileFlagName = keyof typeof FILE_FLAG;

/** One distinct file of the run: a run-relative path and a content hash. */
export interface ReportFile {
  /** Path relative to the run directory (absolute when outside it). */
  p: string;
  /** Content hash, or null (not hashed, or missing). */
  h: string | null;
  /** Size in bytes, or null. */
  s: number | null;
  /** The producing stage (index into `stages`), or -1. */
  by: number;
  /** Stages that consumed it (indices into `stages`). */
  to: number[];
  /** `FILE_FLAG` bits. */
  f: number;
}

/** One tracked file entry of a stage: `[file index, type, metadata, retained, reason]`. */
export type ReportEntry = [number, string, Record<string, RecordedValue> | 0, (boolean | null)?, (string | null)?];

/** One record of a stage.log. */
export interface ReportLogEntry {
  /** Epoch ms, or null. */
  t: number | null;
  /** The level in capitals (`INFO`, `ERROR`, ...), or "" for a line that is not a record. */
  l: string;
  /** The message; a traceback logged as one record keeps all its lines. */
  m: string;
  /** The record's other fields as JSON, or "". */
  x: string;
  /** The stack of an error logged with the record (`err.stack`), or "". */
  s: string;
}

/** A stage's stage.log as the page holds it: its last records, up to a byte bound. */
export interface ReportLog {
  /** The file read. */
  path: string;
  /** The file's size in bytes. */
  bytes: number;
  /** How many bytes from its end are in `entries` (less than `bytes` when it was cut). */
  shownBytes: number;
  entries: ReportLogEntry[];
}

export interface ReportError {
  type: string;
  message: string;
  stack: string | null;
  timestamp: string;
}

export interface ReportStage {
  dir: string;
  name: string;
  number: number | null;
  state: string;
  reason: string | null;
  problem: string | null;
  /** Start and end, in ms after the run's start; null when unknown. */
  start: number | null;
  end: number | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  /** CPU time (user + system) in ms, from the manifest's resources; null when not measured. */
  cpuMs: number | null;
  /** Peak resident memory in MB, from the manifest's resources; null when not measured. */
  rssMb: number | null;
  traceId: string | null;
  spanId: string | null;
  pid: number | null;
  host: string | null;
  exitCode: number | null;
  command: string[];
  config: [string, RecordedValue][];
  resources: [string, RecordedValue][];
  warnings: { message: string; timestamp: string }[];
  errors: ReportError[];
  inputs: ReportEntry[];
  outputs: ReportEntry[];
  intermediates: ReportEntry[];
  /** The stage.log, or null when there is none. */
  log: ReportLog | null;
}

/** What went wrong in one stage, for the banner at the top of the page. */
export interface ReportProblem {
  /** Index into `stages`. */
  stage: number;
  state: string;
  reason: string | null;
  /** The error's `Type: message` line, or null when the stage recorded no error. */
  headline: string | null;
  /** The first lines of its stack or traceback (a Python traceback: its last lines, where the exception is). */
  lines: string[];
  /** How many lines of the stack are not in `lines`. */
  moreLines: number;
}

export interface ReportData {
  generatedAt: string;
  runDir: string;
  pipeline: string | null;
  runId: string | null;
  status: string;
  startedAt: string | null;
  durationMs: number | null;
  /** The run's trace id (pipeline.json's, else the one most stages share). */
  traceId: string | null;
  /** How many distinct trace ids the stages have. */
  traceCount: number;
  jaegerUrl: string | null;
  /** The timeline's length in ms. */
  span: number;
  stages: ReportStage[];
  files: ReportFile[];
  /** Failed, interrupted and abandoned stages, in stage order. */
  problems: ReportProblem[];
}
