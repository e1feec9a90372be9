/**
 * The data behind the HTML run report: a compact, JSON-ready model of a run
 * (stages, a table of distinct files, and the file lineage between stages),
 * built from the manifests and stage logs on disk.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { expiredLease, type LoadedRun } from "../run/load-run.js";
import { existsInside } from "../fs/safe-read.js";
import type { ManifestFileEntry, RecordedValue } from "../types.js";
import { parseTime, runRelativePath } from "./run-files.js";

/** How many stage.log lines each stage shows. */
export const LOG_TAIL_LINES = 20;
const LOG_TAIL_BYTES = 64 * 1024;
const LOG_LINE_MAX = 2000;

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
  traceId: string | null;
  spanId: string | null;
  pid: number | null;
  host: string | null;
  exitCode: number | null;
  command: string[];
  config: [string, RecordedValue][];
  resources: [string, RecordedValue][];
  warnings: { message: string; timestamp: string }[];
  errors: { type: string; message: string; stack: string | null; timestamp: string }[];
  inputs: ReportEntry[];
  outputs: ReportEntry[];
  intermediates: ReportEntry[];
  log: string[];
  logPath: string | null;
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
}

function entries(obj: Record<string, RecordedValue> | null | undefined): [string, RecordedValue][] {
  return Object.entries(obj ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function clip(text: string): string {
  return text.length > LOG_LINE_MAX ? `${text.slice(0, LOG_LINE_MAX)}…` : text;
}

const LOG_STANDARD_KEYS = new Set(["level", "time", "msg", "pid", "hostname", "stage", "stage_number", "trace_id", "span_id", "trace_flags", "stage_dir"]);

/** One stage.log line for people: `HH:MM:SS.mmm LEVEL message {other fields}`. */
export function formatLogLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return clip(line);
    rec = parsed as Record<string, unknown>;
  } catch {
    return clip(line);
  }
  const time = typeof rec.time === "number" ? new Date(rec.time).toISOString().slice(11, 23) : "";
  const level = typeof rec.level === "string" ? rec.level : String(rec.level ?? "");
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (!LOG_STANDARD_KEYS.has(k)) extra[k] = v;
  const rest = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : "";
  return clip(`${time} ${level.padEnd(5)} ${String(rec.msg ?? "")}${rest}`);
}

/** The last `n` lines of a log file, read from its end (never the whole file). */
export function tailLines(path: string, n = LOG_TAIL_LINES): string[] | null {
  let fd: number;
  try {
    // Non-blocking: a FIFO at the log's name must not hang the report.
    fd = openSync(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  } catch {
    return null;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return null;
    const size = stats.size;
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const lines = buf.toString("utf8").split("\n");
    if (length < size) lines.shift(); // a partial first line
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines.slice(-n);
  } finally {
    closeSync(fd);
  }
}

function mtimeMs(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Only http(s) URLs become links; anything else (say `javascript:`) is dropped. */
export function safeJaegerUrl(url: string | undefined | null): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  } catch {
    return null;
  }
  return url.replace(/\/+$/, "");
}

function runStatus(run: LoadedRun): string {
  if (run.pipeline?.status) return run.pipeline.status;
  const states = new Set(run.stages.map((s) => s.state));
  if (states.has("running")) return "running";
  if (states.has("failed") || states.has("abandoned")) return "failed";
  if (states.has("interrupted")) return "interrupted";
  return run.stages.length === 0 ? "empty" : "success";
}

/**
 * Builds the report's model of a run. `now` is when the report is made:
 * the end of the bars of stages that are still running.
 */
export function buildReportData(run: LoadedRun, options: { jaegerUrl?: string; now?: number } = {}): ReportData {
  const now = options.now ?? Date.now();
  const stages = run.stages;

  // The timeline.
  const starts = stages.map((s) => parseTime(s.manifest?.started_at));
  const pipelineStart = parseTime(run.pipeline?.started_at);
  const knownStarts = starts.filter((t): t is number => t !== null);
  const t0 = pipelineStart ?? (knownStarts.length > 0 ? Math.min(...knownStarts) : now);
  const ends = stages.map((s, i) => {
    const start = starts[i];
    if (start === null || start === undefined) return null;
    const ended = parseTime(s.manifest?.ended_at) ?? start;
    if (s.state === "running") return Math.max(now, ended, start);
    if (s.state === "abandoned") {
      // The last sign of life: the stage log's last write.
      const logged = mtimeMs(join(s.dir, "stage.log"));
      return Math.max(ended, logged ?? start, start);
    }
    return Math.max(ended, start);
  });

  // Files: one node per (run-relative path, hash).
  const files: ReportFile[] = [];
  const byKey = new Map<string, number>();
  const nodeFor = (path: string, e: ManifestFileEntry): number => {
    const key = `${e.hash ?? ""}\u0000${path}`;
    let id = byKey.get(key);
    if (id === undefined) {
      id = files.length;
      files.push({ p: path, h: e.hash ?? null, s: e.size ?? null, by: -1, to: [], f: 0 });
      byKey.set(key, id);
    }
    const node = files[id]!;
    if (node.s === null && e.size !== null && e.size !== undefined) node.s = e.size;
    if (e.exists === false) node.f |= FILE_FLAG.missing;
    return id;
  };
  const entry = (id: number, e: ManifestFileEntry, intermediate: boolean): ReportEntry => {
    const meta = e.metadata && Object.keys(e.metadata).length > 0 ? e.metadata : 0;
    const out: ReportEntry = [id, e.type ?? "", meta];
    if (intermediate) out.push(e.retained ?? null, e.reason ?? null);
    return out;
  };

  // Producers first, so that consumers can be joined to them.
  const producedAt = new Map<string, { stage: number; node: number }[]>(); // by path, in stage order
  const outputs: ReportEntry[][] = [];
  const intermediates: ReportEntry[][] = [];
  stages.forEach((s, i) => {
    const m = s.manifest;
    const produce = (list: ManifestFileEntry[] | undefined, intermediate: boolean): ReportEntry[] =>
      (Array.isArray(list) ? list : []).map((e) => {
        const path = runRelativePath(run, s, e.path);
        const id = nodeFor(path, e);
        if (files[id]!.by < 0) files[id]!.by = i;
        const list2 = producedAt.get(path) ?? [];
        list2.push({ stage: i, node: id });
        producedAt.set(path, list2);
        return entry(id, e, intermediate);
      });
    outputs.push(produce(m?.outputs, false));
    intermediates.push(produce(m?.intermediate_files, true));
  });

  const stageByDir = new Map(stages.map((s, i) => [s.dirName, i]));
  const inputs: ReportEntry[][] = stages.map((s, i) => {
    const m = s.manifest;
    const list = Array.isArray(m?.inputs) ? m.inputs : [];
    return list.map((e) => {
      const path = runRelativePath(run, s, e.path);
      const producers = (producedAt.get(path) ?? []).filter((p) => p.stage !== i);
      // The latest producer before this stage, else any other stage.
      const before = producers.filter((p) => p.stage < i);
      const candidates = before.length > 0 ? before : producers;
      let id: number;
      if (candidates.length > 0) {
        const hash = e.hash ?? null;
        const same = [...candidates].reverse().find((p) => hash === null || files[p.node]!.h === null || files[p.node]!.h === hash);
        if (same) {
          id = same.node;
          if (e.exists === false) files[id]!.f |= FILE_FLAG.missing;
        } else {
          id = nodeFor(path, e);
          files[id]!.by = candidates[candidates.length - 1]!.stage;
          files[id]!.f |= FILE_FLAG.modified;
        }
      } else {
        id = nodeFor(path, e);
        const dir = path.startsWith("/") ? undefined : path.split("/", 1)[0];
        const owner = dir === undefined ? undefined : stageByDir.get(dir);
        if (owner !== undefined && owner !== i && e.exists !== false) {
          files[id]!.by = owner;
          files[id]!.f |= FILE_FLAG.untracked;
        } else if (e.exists !== false) {
          files[id]!.f |= FILE_FLAG.external;
        }
      }
      if (!files[id]!.to.includes(i)) files[id]!.to.push(i);
      return entry(id, e, false);
    });
  });

  const traceCounts = new Map<string, number>();
  for (const s of stages) {
    const id = s.manifest?.trace?.trace_id;
    if (id) traceCounts.set(id, (traceCounts.get(id) ?? 0) + 1);
  }
  const commonTrace = [...traceCounts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;

  const reportStages: ReportStage[] = stages.map((s, i) => {
    const m = s.manifest;
    const start = starts[i] ?? null;
    const end = ends[i] ?? null;
    const logPath = s.manifestPath ? join(s.dir, "stage.log") : null;
    // Only the run's own files: a manifest's logs.stage_log, or a symlink, cannot bring another file into the report.
    const tail = logPath && existsInside(run.runDir, logPath) ? tailLines(logPath) : null;
    let reason = m?.status_reason ?? null;
    if (s.state === "abandoned") {
      const lease = expiredLease(s);
      reason = lease
        ? `still marked running, but its lease on host ${lease.host} expired at ${lease.expiredAt} (host or process gone?)`
        : `still marked running, but its process ${m?.process?.pid ?? "?"} on ${m?.process?.hostname ?? "?"} is gone (killed?)`;
    } else if (s.state === "running") {
      reason = reason ?? "still running when the report was made";
    } else if (s.state === "not_run") {
      reason = reason ?? "listed in the pipeline, never started";
    }
    return {
      dir: s.dirName,
      name: s.name,
      number: s.number,
      state: s.state,
      reason,
      problem: s.problem,
      start: start === null ? null : start - t0,
      end: end === null ? null : end - t0,
      startedAt: m?.started_at ?? null,
      endedAt: s.state === "running" || s.state === "abandoned" ? null : (m?.ended_at ?? null),
      durationMs: s.state === "running" || s.state === "abandoned" ? (start !== null && end !== null ? end - start : null) : (m?.duration_ms ?? null),
      traceId: m?.trace?.trace_id ?? null,
      spanId: m?.trace?.span_id ?? null,
      pid: m?.process?.pid ?? null,
      host: m?.process?.hostname ?? null,
      exitCode: m?.process?.exit_code ?? null,
      command: m?.process?.command_args ?? [],
      config: entries(m?.config),
      resources: entries(m?.resources),
      warnings: (m?.warnings ?? []).map((w) => ({ message: String(w.message), timestamp: String(w.timestamp) })),
      errors: (m?.errors ?? []).map((e) => ({ type: String(e.type), message: String(e.message), stack: e.stack ?? null, timestamp: String(e.timestamp) })),
      inputs: inputs[i]!,
      outputs: outputs[i]!,
      intermediates: intermediates[i]!,
      log: (tail ?? []).map(formatLogLine),
      logPath: tail ? logPath : null,
    };
  });

  const lastEnd = Math.max(t0, ...ends.filter((t): t is number => t !== null));
  const first = stages.find((s) => s.manifest)?.manifest ?? null;
  return {
    generatedAt: new Date(now).toISOString(),
    runDir: run.runDir,
    pipeline: run.pipeline?.pipeline ?? first?.pipeline?.name ?? null,
    runId: run.pipeline?.run_id ?? first?.pipeline?.run_id ?? null,
    status: runStatus(run),
    startedAt: run.pipeline?.started_at ?? (knownStarts.length > 0 ? new Date(t0).toISOString() : null),
    durationMs: run.pipeline?.duration_ms ?? (knownStarts.length > 0 ? lastEnd - t0 : null),
    traceId: run.pipeline?.trace?.trace_id ?? commonTrace,
    traceCount: traceCounts.size,
    jaegerUrl: safeJaegerUrl(options.jaegerUrl),
    span: Math.max(lastEnd - t0, 1),
    stages: reportStages,
    files,
  };
}
