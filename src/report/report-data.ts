/**
 * The data behind the HTML run report: a compact, JSON-ready model of a run
 * (stages, a table of distinct files, and the file lineage between stages),
 * built from the manifests and stage logs on disk.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { errorHeadline } from "../format.js";
import { expiredLease, type LoadedRun } from "../run/load-run.js";
import { existsInside } from "../fs/safe-read.js";
import type { ManifestFileEntry, RecordedValue } from "../types.js";
import {
  FILE_FLAG,
  type ReportData,
  type ReportEntry,
  type ReportFile,
  type ReportLog,
  type ReportLogEntry,
  type ReportProblem,
  type ReportStage,
} from "./report-types.js";
import { parseTime, runRelativePath } from "./run-files.js";

export { FILE_FLAG } from "./report-types.js";

/** How much of a stage.log's end the page keeps: more for a stage in trouble, less once the run's budget is spent. */
export const LOG_BOUND = {
  stageBytes: 256 * 1024,
  problemStageBytes: 1024 * 1024,
  runBytes: 16 * 1024 * 1024,
  afterBudgetBytes: 16 * 1024,
  /** The longest message kept whole (a traceback logged as one record is far below it). */
  messageChars: 64 * 1024,
} as const;

/** How many lines of a stack the banner shows. */
export const BANNER_STACK_LINES = 10;

const PROBLEM_STATES = new Set(["failed", "interrupted", "abandoned"]);

function entries(obj: Record<string, RecordedValue> | null | undefined): [string, RecordedValue][] {
  return Object.entries(obj ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const LOG_STANDARD_KEYS = new Set([
  "level",
  "time",
  "msg",
  "pid",
  "hostname",
  "stage",
  "stage_number",
  "trace_id",
  "span_id",
  "trace_flags",
  "stage_dir",
  "err",
]);

function clip(text: string): string {
  return text.length > LOG_BOUND.messageChars ? `${text.slice(0, LOG_BOUND.messageChars)}…` : text;
}

/** One stage.log line as a record: time, level, message, other fields, and the stack of an error logged with it. */
export function parseLogLine(line: string): ReportLogEntry {
  let rec: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return { t: null, l: "", m: clip(line), x: "", s: "" };
    rec = parsed as Record<string, unknown>;
  } catch {
    return { t: null, l: "", m: clip(line), x: "", s: "" };
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (!LOG_STANDARD_KEYS.has(k)) extra[k] = v;
  const err = rec.err && typeof rec.err === "object" ? (rec.err as Record<string, unknown>) : null;
  return {
    t: typeof rec.time === "number" ? rec.time : null,
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a line from another program may have anything there; it is shown as text
    l: typeof rec.level === "string" ? rec.level.toUpperCase() : String(rec.level ?? ""),
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- as for the level
    m: clip(String(rec.msg ?? "")),
    x: Object.keys(extra).length > 0 ? clip(JSON.stringify(extra)) : "",
    s: err && typeof err.stack === "string" ? clip(err.stack) : "",
  };
}

/** The last `maxBytes` of a log file as records, read from its end (never the whole file); null when it cannot be read. */
export function readLogTail(path: string, maxBytes: number): ReportLog | null {
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
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, size - length + got);
      if (n === 0) break;
      got += n;
    }
    let text = buf.subarray(0, got).toString("utf8");
    let shown = got;
    if (length < size) {
      // Drop the partial first line.
      const nl = text.indexOf("\n");
      shown -= Buffer.byteLength(text.slice(0, nl + 1));
      text = nl < 0 ? "" : text.slice(nl + 1);
    }
    const lines = text.split("\n").filter((l) => l !== "");
    return { path, bytes: size, shownBytes: shown, entries: lines.map(parseLogLine) };
  } finally {
    closeSync(fd);
  }
}

/** What the banner shows of an error's stack: its first lines, or a Python traceback's last ones (where the exception is). */
export function stackExcerpt(stack: string, headline: string | null, max = BANNER_STACK_LINES): { lines: string[]; more: number } {
  let lines = stack.replace(/\s+$/, "").split("\n");
  if (headline !== null && lines[0]?.trim() === headline.trim()) lines = lines.slice(1);
  if (lines.length <= max) return { lines, more: 0 };
  if (lines[0]?.startsWith("Traceback")) {
    const tail = lines.slice(-max);
    return { lines: [lines[0], "  …", ...tail.slice(2)], more: lines.length - (max - 1) };
  }
  return { lines: lines.slice(0, max), more: lines.length - max };
}

function problemOf(stage: ReportStage, index: number): ReportProblem {
  const e = stage.errors[0];
  if (e) {
    const headline = errorHeadline(e.type, e.message);
    const rest = e.message.split("\n").slice(1);
    const { lines, more } = e.stack
      ? stackExcerpt(e.stack, headline)
      : { lines: rest.slice(0, BANNER_STACK_LINES), more: Math.max(0, rest.length - BANNER_STACK_LINES) };
    return { stage: index, state: stage.state, reason: stage.reason, headline, lines, moreLines: more };
  }
  // No error in the manifest: the last ERROR record of its log (a command's traceback is logged as one).
  const logged = [...(stage.log?.entries ?? [])].reverse().find((r) => r.l === "ERROR" || r.l === "FATAL" || r.l === "CRITICAL");
  if (logged) {
    const text = logged.s ? `${logged.m}\n${logged.s}` : logged.m;
    const all = text.split("\n");
    const { lines, more } = stackExcerpt(all.slice(1).join("\n"), null);
    return {
      stage: index,
      state: stage.state,
      reason: stage.reason,
      headline: all[0] ?? "",
      lines: all.length > 1 ? lines : [],
      moreLines: all.length > 1 ? more : 0,
    };
  }
  return { stage: index, state: stage.state, reason: stage.reason, headline: null, lines: [], moreLines: 0 };
}

function numberOr(value: RecordedValue | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
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

  let logBudget: number = LOG_BOUND.runBytes;
  const reportStages: ReportStage[] = stages.map((s, i) => {
    const m = s.manifest;
    const start = starts[i] ?? null;
    const end = ends[i] ?? null;
    const logPath = s.manifestPath ? join(s.dir, "stage.log") : null;
    const bound =
      logBudget <= 0 ? LOG_BOUND.afterBudgetBytes : PROBLEM_STATES.has(s.state) ? LOG_BOUND.problemStageBytes : LOG_BOUND.stageBytes;
    // Only the run's own files: a manifest's logs.stage_log, or a symlink, cannot bring another file into the report.
    const log = logPath && existsInside(run.runDir, logPath) ? readLogTail(logPath, bound) : null;
    if (log) logBudget -= log.shownBytes;
    const cpuUser = numberOr(m?.resources?.cpu_user_ms);
    const cpuSystem = numberOr(m?.resources?.cpu_system_ms);
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
      durationMs:
        s.state === "running" || s.state === "abandoned" ? (start !== null && end !== null ? end - start : null) : (m?.duration_ms ?? null),
      cpuMs: cpuUser === null && cpuSystem === null ? null : (cpuUser ?? 0) + (cpuSystem ?? 0),
      rssMb: numberOr(m?.resources?.peak_rss_mb),
      traceId: m?.trace?.trace_id ?? null,
      spanId: m?.trace?.span_id ?? null,
      pid: m?.process?.pid ?? null,
      host: m?.process?.hostname ?? null,
      exitCode: m?.process?.exit_code ?? null,
      command: m?.process?.command_args ?? [],
      config: entries(m?.config),
      resources: entries(m?.resources),
      warnings: (m?.warnings ?? []).map((w) => ({ message: String(w.message), timestamp: String(w.timestamp) })),
      errors: (m?.errors ?? []).map((e) => ({
        type: String(e.type),
        message: String(e.message),
        stack: e.stack ?? null,
        timestamp: String(e.timestamp),
      })),
      inputs: inputs[i]!,
      outputs: outputs[i]!,
      intermediates: intermediates[i]!,
      log,
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
    problems: reportStages
      .map((st, i) => [st, i] as const)
      .filter(([st]) => PROBLEM_STATES.has(st.state))
      .map(([st, i]) => problemOf(st, i)),
  };
}
