import { linkSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { isInside, readFileSafely } from "../fs/safe-read.js";
import { hostname } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { StagetraceError } from "../errors.js";
import { FILE_MODE, writeFileAtomic } from "../fs/atomic-write.js";
import { randomHex } from "../random-hex.js";
import type { Env } from "../config/env-rules.js";
import { stagetraceSettings } from "../config/stagetrace-settings.js";

/** Renders a time for use in a file name: `2026-11-23T21-50-30-123Z`. */
export function fileTimestamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, "-");
}

/** Where the run lives: option, else `OUTPUT_DIR`, else `STAGETRACE_RUN_DIR`, else `./out/run-<start>`. */
export function resolveRunDir(option: string | undefined, env: Env, start: Date): string {
  const chosen = option ?? stagetraceSettings(env).runDir();
  return resolve(chosen ?? join("out", `run-${fileTimestamp(start)}`));
}

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Stage names become directory names, so they must be one safe path segment. */
export function validateStageName(name: unknown, what = "stage name"): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw new StagetraceError("INVALID_STAGE_NAME", `${what} must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  if (name.includes("/") || name.includes("\\") || name === "." || name === ".." || CONTROL_CHARS.test(name)) {
    throw new StagetraceError(
      "INVALID_STAGE_NAME",
      `${what} ${JSON.stringify(name)} is not usable as a directory name: no "/", "\\", "." or "..", and no control characters`,
    );
  }
  return name;
}

/** The longest file name most file systems take (NAME_MAX), in bytes. */
export const MAX_NAME_BYTES = 255;

/** Names the run itself uses at its top level: a stage directory may not take them. */
export const RESERVED_RUN_NAMES: ReadonlySet<string> = new Set(["logs", "pipeline.json", "stagetrace.json", ".stagetrace-run.json"]);

/**
 * Why `name` cannot be one directory name inside a run (empty, `.`/`..`, a
 * separator or control character, one of the run's own names, longer than
 * the file system allows), or null when it can.
 */
export function segmentProblem(name: string): string | null {
  if (name === "" || name === "." || name === "..") return "is not a directory name";
  if (name.includes("/") || name.includes("\\") || CONTROL_CHARS.test(name)) return 'holds "/", "\\" or a control character';
  if (RESERVED_RUN_NAMES.has(name) || name.startsWith(".stagetrace")) return "is a name the run uses for its own files";
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_NAME_BYTES) return `is ${bytes} bytes long, more than the ${MAX_NAME_BYTES} a file name may have`;
  return null;
}

/** The stage directory's name, checked: a stage cannot take the run's own names or exceed the name limit. */
export function checkedStageDirName(name: string, number: number | null): string {
  const dirName = stageDirName(name, number);
  const problem = segmentProblem(dirName);
  if (problem !== null) {
    throw new StagetraceError(
      "INVALID_STAGE_NAME",
      `stage name ${JSON.stringify(name)}: its directory ${JSON.stringify(dirName.length > 80 ? `${dirName.slice(0, 77)}...` : dirName)} ${problem}`,
    );
  }
  return dirName;
}

/**
 * Resolves a file name inside `dir`, refusing absolute paths and anything
 * that climbs out of it (`../../x`), so a stage cannot write outside the run.
 */
export function pathInside(dir: string, fileName: string, what: string): string {
  if (typeof fileName !== "string" || fileName === "" || fileName.includes("\u0000")) {
    throw new StagetraceError("INVALID_PATH", `${what}: expected a file name, got ${JSON.stringify(fileName)}`);
  }
  if (isAbsolute(fileName)) {
    throw new StagetraceError(
      "INVALID_PATH",
      `${what}: ${JSON.stringify(fileName)} is absolute; pass a name relative to ${dir} (track absolute paths with trackInput/trackOutput directly)`,
    );
  }
  const long = fileName.split(/[\\/]/).find((segment) => Buffer.byteLength(segment) > MAX_NAME_BYTES);
  if (long !== undefined) {
    throw new StagetraceError(
      "INVALID_PATH",
      `${what}: a part of ${JSON.stringify(fileName.length > 80 ? `${fileName.slice(0, 77)}...` : fileName)} is ${Buffer.byteLength(long)} bytes long, more than the ${MAX_NAME_BYTES} a file name may have`,
    );
  }
  const full = resolve(dir, fileName);
  const rel = relative(dir, full);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new StagetraceError("INVALID_PATH", `${what}: ${JSON.stringify(fileName)} resolves to ${full}, outside ${dir}`);
  }
  return full;
}

/** `06_asr` for stage 6, or the bare name when the stage has no number. */
export function stageDirName(name: string, number: number | null): string {
  return number === null ? name : `${String(number).padStart(2, "0")}_${name}`;
}

/**
 * The pipeline's stage list: option, else `STAGETRACE_STAGES`, else the list
 * the run was begun with (saved in the run state), else `<run dir>/stagetrace.json`.
 */
export function resolveStages(
  option: readonly string[] | undefined,
  env: Env,
  runDir: string,
  state: RunState | null = null,
  warn?: (message: string) => void,
): string[] | null {
  if (option) return option.map((s, i) => validateStageName(s, `stages[${i}]`));
  const names = stagetraceSettings(env).stages();
  if (names !== null) {
    try {
      return names.map((s) => validateStageName(s, "STAGETRACE_STAGES entry"));
    } catch (err) {
      // A bad environment value warns and falls back to the next source of the list.
      if (!warn) throw err;
      warn(`${(err as Error).message}; ignoring STAGETRACE_STAGES`);
    }
  }
  if (state && Array.isArray(state.stages) && state.stages.length > 0) {
    return state.stages.map((s, i) => validateStageName(s, `${join(runDir, RUN_STATE_FILE)} stages[${i}]`));
  }
  const file = join(runDir, "stagetrace.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    // No file, or no run directory to hold one (a path under a regular file): no stage list.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw new StagetraceError("IO_ERROR", `could not read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StagetraceError("INVALID_OPTION", `${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const stages = (parsed as { stages?: unknown }).stages;
  if (!Array.isArray(stages)) {
    throw new StagetraceError("INVALID_OPTION", `${file} must hold { "stages": ["name", ...] }`);
  }
  return stages.map((s, i) => validateStageName(s, `${file} stages[${i}]`));
}

/** The stage's number: the option, else its 1-based position in the stage list, else none. */
export function resolveStageNumber(name: string, option: number | undefined, stages: readonly string[] | null): number | null {
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 0) {
      throw new StagetraceError("INVALID_OPTION", `stageNumber must be a whole number >= 0, got ${option}`);
    }
    return option;
  }
  const i = stages ? stages.indexOf(name) : -1;
  return i < 0 ? null : i + 1;
}

/**
 * Finds another stage's directory: by its place in the stage list, else by an
 * existing `NN_<name>` directory in the run, else the bare name.
 */
export function findStageDir(runDir: string, stage: string, stages: readonly string[] | null): string {
  validateStageName(stage, "fromStage");
  const i = stages ? stages.indexOf(stage) : -1;
  if (i >= 0) return join(runDir, stageDirName(stage, i + 1));
  try {
    const match = readdirSync(runDir).find((d) => /^\d+_/.test(d) && d.slice(d.indexOf("_") + 1) === stage);
    if (match) return join(runDir, match);
  } catch {
    // no run directory yet: fall through to the bare name
  }
  return join(runDir, stage);
}

/** The run span, as `stagetrace run` or `run begin` started it: what every stage's span hangs under. */
export interface RunTrace {
  trace_id: string;
  span_id: string;
  /** The span that began the run (its TRACEPARENT), or, for a resumed run, the run span it resumes. */
  parent_span_id: string | null;
  /** W3C trace flags (1: sampled). */
  trace_flags: number;
  /** The W3C tracestate the run was begun with, if any. */
  tracestate: string | null;
}

/**
 * What every stage of one run agrees on, whichever process (or host) starts
 * first: the run id and pipeline log, and, for a run begun by `stagetrace run`
 * or `run begin`, its name, stage list and run span.
 */
export interface RunState {
  run_id: string;
  started_at: string;
  /** The pipeline log, relative to the run directory (each host may mount the run directory elsewhere). */
  pipeline_log: string;
  host: string;
  /** The pipeline's name. */
  pipeline?: string | null;
  /** The stage list the run was begun with: the numbers of the stage directories. */
  stages?: string[] | null;
  /** The run span; absent for a run whose stages started on their own. */
  trace?: RunTrace | null;
  /** Who began the run: host, pid and command line. */
  begun_by?: { host: string; pid: number; command: string[] } | null;
  /** When `run end` (or `stagetrace run`) ended the run; null while it runs. */
  ended_at?: string | null;
}

export const RUN_STATE_FILE = ".stagetrace-run.json";

/**
 * Returns the run's shared state, creating it if this is the run's first
 * stage. Stages in separate processes (one after another or at once) must
 * end up with the same pipeline log, so the file is created atomically: it is
 * written in full under a private name, then hard-linked into place, which
 * fails with EEXIST for every process but the first.
 */
export function loadOrCreateRunState(runDir: string, env: Env, start: Date): RunState {
  const file = join(runDir, RUN_STATE_FILE);
  const existing = readRunState(file);
  if (existing) return applyEnv(existing, env);

  const state: RunState = {
    run_id: stagetraceSettings(env).runId() ?? `${fileTimestamp(start)}-${randomHex(3)}`,
    started_at: start.toISOString(),
    pipeline_log: join("logs", `99_pipeline_${fileTimestamp(start)}.log`),
    host: hostname(),
  };
  mkdirSync(runDir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomHex(4)}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n", { mode: FILE_MODE, flag: "wx" });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const winner = readRunState(file);
    if (!winner) throw new StagetraceError("IO_ERROR", `${file} exists but is not a stagetrace run state file`);
    return applyEnv(winner, env);
  } finally {
    unlinkSync(tmp);
  }
  return applyEnv(state, env);
}

/** The run state of a run directory, or null when it has none (or the file is not one). */
export function readRunStateOf(runDir: string): RunState | null {
  return readRunState(join(runDir, RUN_STATE_FILE));
}

/** Replaces the run state atomically (a reader sees the old file or the new one). */
export function writeRunState(runDir: string, state: RunState): void {
  writeFileAtomic(join(runDir, RUN_STATE_FILE), JSON.stringify(state, null, 2) + "\n");
}

function readRunState(file: string): RunState | null {
  let text: string;
  try {
    // Never blocks on a FIFO someone put there, never reads without bound.
    text = readFileSafely(file, { maxBytes: 1 << 20 });
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as RunState;
    return typeof parsed.pipeline_log === "string" && typeof parsed.run_id === "string" ? parsed : null;
  } catch {
    return null;
  }
}

// `stagetrace run` (or the user) may name the run id and log explicitly.
function applyEnv(state: RunState, env: Env): RunState {
  const settings = stagetraceSettings(env);
  return {
    ...state,
    run_id: settings.runId() ?? state.run_id,
    pipeline_log: settings.pipelineLog() ?? state.pipeline_log,
  };
}

/**
 * The pipeline log as an absolute path. It must be inside the run directory
 * (or a character device such as /dev/null): a `STAGETRACE_PIPELINE_LOG` or
 * `.stagetrace-run.json` that points elsewhere is said (`warn`) and replaced
 * by the default name.
 */
export function pipelineLogPath(runDir: string, state: RunState, warn?: (message: string) => void): string {
  const path = resolve(runDir, state.pipeline_log);
  if (isInside(resolve(runDir), path)) return path;
  try {
    if (statSync(path).isCharacterDevice()) return path;
  } catch {
    // nothing there: outside, so not used
  }
  const started = Date.parse(state.started_at);
  const fallback = join(resolve(runDir), "logs", `99_pipeline_${Number.isFinite(started) ? fileTimestamp(new Date(started)) : "run"}.log`);
  warn?.(
    `the pipeline log ${path} (STAGETRACE_PIPELINE_LOG or ${RUN_STATE_FILE}) is outside the run directory ${resolve(runDir)}; writing ${fallback} instead`,
  );
  return fallback;
}
