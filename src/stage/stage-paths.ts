import { lstatSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { StagetraceError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { errnoText } from "../fs/errno-text.js";
import { isInside } from "../fs/safe-read.js";
import { findStageDir, pathInside, stageDirName } from "../run/run-directory.js";

// The paths and JSON files of a stage, shared by StageIO and the stage object of a
// process whose records go to the run's agent (src/agent/), which must not load StageIO's modules.

/** Where a stage is in its run. */
export interface StagePlace {
  readonly outputBase: string;
  readonly stages: readonly string[] | null;
  readonly stageNumber: number | null;
}

/** See StageIO.getInputPath. */
export function inputPath(stage: StagePlace, filename: string, options: { fromStage?: string }): string {
  let dir = stage.outputBase;
  if (options.fromStage !== undefined) {
    dir = findStageDir(stage.outputBase, options.fromStage, stage.stages);
  } else if (stage.stages && stage.stageNumber !== null && stage.stageNumber > 1) {
    const previous = stage.stages[stage.stageNumber - 2];
    if (previous !== undefined) dir = join(stage.outputBase, stageDirName(previous, stage.stageNumber - 1));
  }
  return pathInside(dir, filename, `getInputPath(${JSON.stringify(filename)})`);
}

/** The text of a problem with a stage's files: what failed, why, and what to check. */
export function ioProblem(what: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return `${what} (${errnoText(e)}). The stage goes on, but its files may be incomplete: check OUTPUT_DIR permissions and free disk space.`;
}

/** See StageIO.getOutputPath. */
export function outputPath(stageDir: string, filename: string): string {
  const path = pathInside(stageDir, filename, `getOutputPath(${JSON.stringify(filename)})`);
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw new StagetraceError("IO_ERROR", ioProblem(`cannot create ${dirname(path)}`, err), { cause: err });
  }
  return path;
}

/** See StageIO.saveJson: `path` is the output path of `filename`. */
export function saveJsonAt(path: string, data: unknown, filename: string): string {
  const text = JSON.stringify(data, null, 2);
  if (text === undefined) {
    throw new StagetraceError("INVALID_OPTION", `saveJson(${JSON.stringify(filename)}): the value cannot be written as JSON`);
  }
  writeFileAtomic(path, text + "\n");
  return path;
}

/** See StageIO.loadJson: `path` is the input path of the file. */
export function loadJsonAt<T>(path: string): T {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new StagetraceError("NOT_FOUND", `loadJson: cannot read ${path} (${errnoText(err)})`, { cause: err });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new StagetraceError("INVALID_OPTION", `loadJson: ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** A stage directory that is a symlink leading out of the run would put every file of the stage elsewhere: refused. */
export function confineStageDir(runDir: string, stageDir: string): void {
  let real: string;
  try {
    if (!lstatSync(stageDir).isSymbolicLink()) return;
    real = realpathSync(stageDir);
    if (isInside(realpathSync(runDir), real)) return;
  } catch {
    return; // nothing there (it could not be created): said already
  }
  throw new StagetraceError(
    "INVALID_PATH",
    `stage directory ${stageDir} is a symlink to ${real}, outside the run directory ${runDir}; remove it`,
  );
}
