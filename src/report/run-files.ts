/**
 * Helpers shared by the run report and `stagetrace diff`: times from
 * manifests, and file paths relative to their run directory.
 */
import { isAbsolute, relative, resolve, sep } from "node:path";
import type { LoadedRun, LoadedStage } from "../run/load-run.js";

/** Epoch ms of a manifest timestamp (which may carry nanoseconds), or null. */
export function parseTime(value: string | null | undefined): number | null {
  if (!value) return null;
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isFinite(ms) ? ms : null;
}

function inside(base: string, path: string): string | null {
  const rel = relative(base, path);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
  return rel.split(sep).join("/");
}

/**
 * A tracked file's path relative to its run directory, with `/` separators,
 * so that two runs in different directories compare. The run directory is
 * the one the manifest recorded (where the stage ran), else the one the run
 * was loaded from (it may have been moved since). A path outside both is
 * returned absolute.
 */
export function runRelativePath(run: LoadedRun, stage: LoadedStage | null, path: string): string {
  const abs = resolve(stage?.dir ?? run.runDir, path);
  const recorded = stage?.manifest?.pipeline?.run_dir;
  if (recorded) {
    const rel = inside(resolve(recorded), abs);
    if (rel !== null) return rel;
  }
  return inside(resolve(run.runDir), abs) ?? abs;
}
