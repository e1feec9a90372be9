import { mkdirSync, rmdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { readFileSafely } from "../fs/safe-read.js";
import { codeUnitOrder, loadRun, type LoadedRun, type LoadedStage } from "./load-run.js";
import { PIPELINE_FILE, type PipelineData, type PipelineStageEntry, type RunStatus, type StageState } from "./pipeline-summary.js";
import { readRunStateOf } from "./run-directory.js";

/** Stage states that keep a run from being `success`. */
export const BAD: ReadonlySet<StageState> = new Set(["failed", "interrupted", "abandoned", "not_run", "running"]);

export function readPipeline(runDir: string): PipelineData | null {
  try {
    return JSON.parse(readFileSafely(join(runDir, PIPELINE_FILE))) as PipelineData;
  } catch {
    return null;
  }
}

/** False when `pipeline.json` is surely absent (ENOENT); any other answer leaves it to the read. */
function pipelineMayExist(runDir: string): boolean {
  try {
    return statSync(join(runDir, PIPELINE_FILE), { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

export function notRunEntry(name: string, number: number | null): PipelineStageEntry {
  return { number, name, status: "not_run", started_at: null, ended_at: null, duration_ms: null, host: null, manifest: null };
}

/** True when the stage belongs to run `runId` (a stage directory left by an earlier run into the same directory does not). */
export function ofRun(stage: LoadedStage, runId: string): boolean {
  const id = stage.manifest?.pipeline?.run_id;
  return typeof id !== "string" || id === runId;
}

/**
 * One pipeline.json entry per stage of run `runId`, in stage-number order,
 * with the listed stages that never started as `not_run`.
 */
export function stageEntries(run: LoadedRun, listed: readonly string[] | null, runId: string): PipelineStageEntry[] {
  const entries: PipelineStageEntry[] = run.stages
    .filter((s) => s.state !== "not_run" && ofRun(s, runId))
    .map((s) => ({
      number: s.number,
      name: s.name,
      status: s.state,
      started_at: s.manifest?.started_at ?? null,
      ended_at: s.state === "running" ? null : (s.manifest?.ended_at ?? null),
      duration_ms: s.manifest?.duration_ms ?? null,
      host: s.manifest?.process?.hostname ?? null,
      manifest: relative(run.runDir, s.manifestPath),
    }));
  (listed ?? []).forEach((name, i) => {
    if (!entries.some((e) => e.name === name)) entries.push(notRunEntry(name, i + 1));
  });
  entries.sort((a, b) => (a.number ?? Infinity) - (b.number ?? Infinity) || codeUnitOrder(a.name, b.name));
  return entries;
}

const LOCK_STALE_MS = 30_000;

/** Runs `fn` holding `<run dir>/pipeline.json.lock` (a directory: mkdir is atomic); false when the lock could not be had. */
function withPipelineLock(runDir: string, fn: () => void): boolean {
  const lock = join(runDir, `${PIPELINE_FILE}.lock`);
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") return false;
      try {
        // A lock left by a process that died while holding it.
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmdirSync(lock);
      } catch {
        // gone meanwhile
      }
      if (Date.now() > deadline) return false;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    fn();
  } finally {
    try {
      rmdirSync(lock);
    } catch {
      // already gone
    }
  }
  return true;
}

/**
 * After a stage of an ended run was run again on its own: updates its entry
 * in pipeline.json (number, status, times) and the run's status, which is
 * then `success` only if every stage is. Does nothing while the run is still
 * running (its end writes the file) or when the file belongs to another run.
 */
export function refreshPipelineAfterRerun(runDir: string, runId: string): "updated" | "unchanged" | "locked" {
  // Most runs have none (no `stagetrace run`): a stat says so more cheaply than a failed open.
  if (!pipelineMayExist(runDir)) return "unchanged";
  const current = readPipeline(runDir);
  if (!current || current.status === "running" || current.run_id !== runId) return "unchanged";
  let result: "updated" | "unchanged" | "locked" = "unchanged";
  const ok = withPipelineLock(runDir, () => {
    const pipeline = readPipeline(runDir);
    if (!pipeline || pipeline.status === "running" || pipeline.run_id !== runId) return;
    const state = readRunStateOf(runDir);
    const listed = state?.stages ?? pipeline.stages.filter((s) => s.number !== null).map((s) => s.name);
    const stages = stageEntries(loadRun(runDir), listed, runId);
    const status: RunStatus = stages.some((s) => BAD.has(s.status)) ? "failed" : "success";
    writeFileAtomic(
      join(runDir, PIPELINE_FILE),
      JSON.stringify({ ...pipeline, stages, status, updated_at: new Date().toISOString() }, null, 2) + "\n",
    );
    result = "updated";
  });
  return ok ? result : "locked";
}
