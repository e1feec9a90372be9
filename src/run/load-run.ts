import { existsSync, readdirSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { MANIFEST_FILE } from "../conventions.js";
import { StagetraceError } from "../errors.js";
import type { ManifestData } from "../types.js";
import { LEASE_FILE, leaseExpired, localProcessTable, readLease, sameProcessTable } from "./lease.js";
import { PIPELINE_FILE, type PipelineData, type StageState } from "./pipeline-summary.js";
import { manifestShapeProblem, pipelineShapeProblem } from "./run-shape.js";
import { isInside, parseJsonSafely, readFileSafely } from "../fs/safe-read.js";

/** One stage directory of a run, as found on disk. */
export interface LoadedStage {
  /** The stage directory. */
  dir: string;
  /** Its name on disk, e.g. `06_asr`. */
  dirName: string;
  /** The stage's name: from its manifest, else from the directory name. */
  name: string;
  /** The stage's number: from its manifest, else from the directory name; null when neither has one. */
  number: number | null;
  /** The stage's `manifest.json` (which may not exist). */
  manifestPath: string;
  /** The parsed manifest, or null when it is missing or unreadable (see `problem`). */
  manifest: ManifestData | null;
  /**
   * How the stage stands: its manifest's status, `abandoned` for a `running` manifest whose process is gone, `not_run` for a listed stage without a directory.
   */
  state: StageState;
  /** Why the manifest could not be read, if it could not. */
  problem: string | null;
}

/** A run directory as found on disk: `pipeline.json` if `stagetrace run` wrote one, and every stage directory. */
export interface LoadedRun {
  /** The run directory, absolute. */
  runDir: string;
  /** The parsed `pipeline.json`, or null when the run has none (no `stagetrace run`). */
  pipeline: PipelineData | null;
  /** Every stage of the run in stage-number order, with the stages of `pipeline.json` that never started. */
  stages: LoadedStage[];
  /**
   * Stage directories an earlier run left in the run directory: their
   * manifests name another run id than `pipeline.json`. Not part of this run,
   * so not in `stages`.
   */
  otherRuns?: LoadedStage[];
}

/**
 * Stage names in the same order on every machine, by UTF-16 code unit: not
 * `localeCompare`, whose first call loads ICU's collation (about 12 ms of
 * `stagetrace run`'s end) and whose order follows the locale.
 */
export function codeUnitOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when a process with this pid exists on this host. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Files a running stage keeps writing: their modification times are its signs of life. */
const LIVE_FILES = [MANIFEST_FILE, "stage.log", ".stagetrace-records.jsonl", LEASE_FILE];

/**
 * When a stage last showed it was alive (epoch ms): the newest modification
 * time of its manifest, its stage.log, its records file and its lease, or null when
 * none exists. A stage killed with `kill -9` ended about then, not when
 * someone noticed.
 */
export function lastSignOfLife(stageDir: string): number | null {
  let last: number | null = null;
  for (const name of LIVE_FILES) {
    const mtime = statSync(join(stageDir, name), { throwIfNoEntry: false })?.mtimeMs;
    if (mtime !== undefined && (last === null || mtime > last)) last = mtime;
  }
  return last;
}

/** If a live process on this host already runs the stage whose manifest is at `manifestPath`, its pid. */
export function liveStageOwner(manifestPath: string): number | null {
  let m: { status?: unknown; process?: { pid?: unknown; hostname?: unknown } } | null;
  try {
    // A running manifest is small (files are added at the end): a large one is final.
    m = JSON.parse(readFileSafely(manifestPath, { maxBytes: 1 << 20 })) as typeof m;
  } catch {
    return null;
  }
  const pid = m?.process?.pid;
  if (m?.status !== "running" || typeof pid !== "number" || pid === process.pid || m.process?.hostname !== hostname()) return null;
  return pidAlive(pid) ? pid : null;
}

/**
 * A stage's state from its manifest. A `running` manifest is `abandoned` when
 * its process is gone: on this host (same host name, boot and pid namespace),
 * by the process table; on another host, by its lease (`LEASE_FILE` in the
 * stage directory), once that has not been renewed for its timeout. A stage
 * elsewhere with no lease to read stays `running`: nothing here can tell.
 */
export function stageState(manifest: Pick<ManifestData, "status" | "process">, stageDir?: string, now = Date.now()): StageState {
  const status = manifest.status as string;
  if (status !== "running") return manifest.status;
  const { pid, hostname: host } = manifest.process;
  const lease = stageDir === undefined ? null : readLease(stageDir);
  const table = lease ?? (typeof host === "string" ? { host } : null);
  if (table && sameProcessTable(table)) {
    if (typeof pid === "number" && !pidAlive(pid)) return "abandoned";
    return "running";
  }
  if (lease && lease.host === hostname() && lease.boot_id && localProcessTable().boot_id && lease.boot_id !== localProcessTable().boot_id) {
    // This host restarted since the stage renewed its lease: its process is gone.
    return "abandoned";
  }
  if (lease && leaseExpired(lease, now)) return "abandoned";
  return "running";
}

/** Reads a JSON file of the run: never blocking, never without bound, never outside `inside`. */
/**
 * For an `abandoned` stage of another host (or pid namespace): when its lease
 * ran out, and where. Null for a stage of this host, judged by its pid.
 */
export function expiredLease(stage: Pick<LoadedStage, "dir">): { host: string; expiredAt: string } | null {
  const lease = readLease(stage.dir);
  if (!lease || sameProcessTable(lease)) return null;
  const renewed = Date.parse(lease.renewed_at);
  const expiredAt = Number.isNaN(renewed) ? lease.renewed_at : new Date(renewed + lease.timeout_s * 1000).toISOString();
  return { host: lease.host, expiredAt };
}

function readJson(path: string, inside: string): { value: unknown; problem: string | null } {
  try {
    return { value: parseJsonSafely(path, readFileSafely(path, { inside })), problem: null };
  } catch (err) {
    if (err instanceof StagetraceError) return { value: null, problem: err.message };
    throw err;
  }
}

function stageFromDir(dir: string, manifestPath = join(dir, MANIFEST_FILE), inside = dirname(dir)): LoadedStage {
  const dirName = basename(dir);
  const m = /^(\d+)_(.+)$/.exec(dirName);
  const read = readJson(manifestPath, inside);
  // A manifest whose fields have the wrong types is reported as such, not handed on to trip a reader.
  const shape = read.problem === null ? manifestShapeProblem(manifestPath, read.value) : null;
  const value = read.problem === null && shape === null ? (read.value as ManifestData) : null;
  const problem = read.problem ?? shape;
  const stage: LoadedStage = {
    dir,
    dirName,
    name: value?.stage ?? (m ? m[2]! : dirName),
    number: value?.stage_number ?? (m ? Number(m[1]) : null),
    manifestPath,
    manifest: value,
    state: "failed",
    problem,
  };
  if (value) stage.state = stageState(value, dir);
  return stage;
}

/**
 * Reads a run from disk. `path` may be a run directory, a stage directory or
 * a manifest.json; for the last two, only that stage is loaded.
 */
export function loadRun(path: string): LoadedRun {
  const target = resolve(path);
  let isDir: boolean;
  try {
    const stats = statSync(target);
    isDir = stats.isDirectory();
    if (!isDir && !stats.isFile())
      throw new StagetraceError("UNREADABLE", `${target}: not a run directory, a stage directory or a manifest.json file; not read`);
  } catch (err) {
    if (err instanceof StagetraceError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new StagetraceError("NOT_FOUND", `${target}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`, { cause: err });
  }
  if (!isDir || existsSync(join(target, MANIFEST_FILE))) {
    // One stage: only files in its own directory are read.
    const stage = isDir
      ? stageFromDir(target, join(target, MANIFEST_FILE), target)
      : stageFromDir(dirname(target), target, dirname(target));
    // The run directory the manifest recorded, as long as the stage is inside it; else the stage's parent.
    const recorded = stage.manifest?.pipeline?.run_dir;
    const runDir = recorded && isInside(resolve(recorded), stage.dir) ? resolve(recorded) : dirname(stage.dir);
    return { runDir, pipeline: null, stages: [stage] };
  }

  const pipelinePath = join(target, PIPELINE_FILE);
  let pipeline: PipelineData | null = null;
  if (existsSync(pipelinePath)) {
    const read = readJson(pipelinePath, target);
    const problem = read.problem ?? pipelineShapeProblem(pipelinePath, read.value);
    if (problem) throw new StagetraceError("INVALID_RUN", problem);
    pipeline = read.value as PipelineData;
  }
  const stages: LoadedStage[] = [];
  for (const entry of readdirSync(target, { withFileTypes: true })) {
    if (entry.isDirectory() && existsSync(join(target, entry.name, MANIFEST_FILE))) {
      stages.push(stageFromDir(join(target, entry.name)));
    }
  }
  // A run directory used again holds the stage directories of earlier runs: they are not this run's.
  const runId = typeof pipeline?.run_id === "string" ? pipeline.run_id : null;
  const otherRun = (st: LoadedStage) => {
    const id = st.manifest?.pipeline?.run_id;
    return runId !== null && typeof id === "string" && id !== runId;
  };
  const otherRuns = stages.filter(otherRun);
  if (otherRuns.length > 0) stages.splice(0, stages.length, ...stages.filter((st) => !otherRun(st)));
  // Stages the pipeline listed but that never wrote a manifest.
  for (const listed of pipeline?.stages ?? []) {
    if (listed.status === "not_run" && !stages.some((s) => s.name === listed.name)) {
      stages.push({
        dir: join(target, listed.name),
        dirName: listed.name,
        name: listed.name,
        number: listed.number,
        manifestPath: "",
        manifest: null,
        state: "not_run",
        problem: null,
      });
    }
  }
  stages.sort((a, b) => (a.number ?? Infinity) - (b.number ?? Infinity) || codeUnitOrder(a.dirName, b.dirName));
  return { runDir: target, pipeline, stages, ...(otherRuns.length > 0 ? { otherRuns } : {}) };
}
