import { stagetraceSettings } from "../config/stagetrace-settings.js";

/** The spool directory `stagetrace run` creates in the run directory for its stages' files. */
export const SPOOL_DIR = ".stagetrace-agent";

/**
 * The spool of the run's agent that a stage process with this environment
 * hands its stages to, or null: no agent, or inside `stagetrace exec` (exec
 * is the stage, `STAGETRACE_RECORDS` its channel), or a Node without
 * `require()` of ES modules, which the stage object needs to fall back to
 * the in-process path when the spool is gone. Whether the directory is
 * there is found out when a stage creates its file in it.
 */
export function agentSpool(env: NodeJS.ProcessEnv = process.env): string | null {
  const settings = stagetraceSettings(env);
  const dir = settings.agent();
  if (dir === undefined || settings.records() !== undefined) return null;
  if ((process.features as { require_module?: boolean }).require_module !== true) return null;
  return dir;
}
