import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { StagetraceError } from "../errors.js";

/** Renders a time for use in a file name: `2026-11-23T21-50-30-123Z`. */
export function fileTimestamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, "-");
}

/** Where the run lives: option, else `OUTPUT_DIR`, else `STAGETRACE_RUN_DIR`, else `./out/run-<start>`. */
export function resolveRunDir(option: string | undefined, env: NodeJS.ProcessEnv, start: Date): string {
  const chosen = option ?? nonEmpty(env.OUTPUT_DIR) ?? nonEmpty(env.STAGETRACE_RUN_DIR);
  return resolve(chosen ?? join("out", `run-${fileTimestamp(start)}`));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() !== "" ? value : undefined;
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

/** The pipeline's stage list: option, else `STAGETRACE_STAGES`, else `<run dir>/stagetrace.json`. */
export function resolveStages(option: readonly string[] | undefined, env: NodeJS.ProcessEnv, runDir: string): string[] | null {
  if (option) return option.map((s, i) => validateStageName(s, `stages[${i}]`));
  const fromEnv = nonEmpty(env.STAGETRACE_STAGES);
  if (fromEnv) {
    return fromEnv
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .map((s) => validateStageName(s, "STAGETRACE_STAGES entry"));
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

/** What every stage of one run agrees on, whichever process starts first. */
export interface RunState {
  run_id: string;
  started_at: string;
  pipeline_log: string;
  host: string;
}

export const RUN_STATE_FILE = ".stagetrace-run.json";

/**
 * Returns the run's shared state, creating it if this is the run's first
 * stage. Stages in separate processes (one after another or at once) must
 * end up with the same pipeline log, so the file is created atomically: it is
 * written in full under a private name, then hard-linked into place, which
 * fails with EEXIST for every process but the first.
 */
export function loadOrCreateRunState(runDir: string, env: NodeJS.ProcessEnv, start: Date): RunState {
  const file = join(runDir, RUN_STATE_FILE);
  const existing = readRunState(file);
  if (existing) return applyEnv(existing, env);

  const state: RunState = {
    run_id: nonEmpty(env.STAGETRACE_RUN_ID) ?? `${fileTimestamp(start)}-${randomBytes(3).toString("hex")}`,
    started_at: start.toISOString(),
    pipeline_log: join("logs", `99_pipeline_${fileTimestamp(start)}.log`),
    host: hostname(),
  };
  mkdirSync(runDir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
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

function readRunState(file: string): RunState | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
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
function applyEnv(state: RunState, env: NodeJS.ProcessEnv): RunState {
  return {
    ...state,
    run_id: nonEmpty(env.STAGETRACE_RUN_ID) ?? state.run_id,
    pipeline_log: nonEmpty(env.STAGETRACE_PIPELINE_LOG) ?? state.pipeline_log,
  };
}

/** The pipeline log as an absolute path. */
export function pipelineLogPath(runDir: string, state: RunState): string {
  return resolve(runDir, state.pipeline_log);
}
