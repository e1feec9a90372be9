import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { stagetraceSettings } from "../config/stagetrace-settings.js";
import { errnoText } from "../fs/errno-text.js";

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

/**
 * Creates the spool directory (mode 0700) of a run's agent in `runDir` and
 * returns its path; null, with a warning, when it cannot (the stages then run
 * in-process). One left by an earlier run of the directory is used as it is:
 * its files are read like new ones.
 */
export function createSpool(runDir: string, warn: (message: string) => void): string | null {
  const dir = join(runDir, SPOOL_DIR);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
      warn(`cannot create the agent's spool ${dir} (${errnoText(err)}); the stages run their telemetry themselves`);
      return null;
    }
    if (!lstatSync(dir).isDirectory()) {
      warn(`${dir} is not a directory; the stages run their telemetry themselves`);
      return null;
    }
    chmodSync(dir, 0o700);
  }
  return dir;
}

/** A stage process's file in the spool: its pid, so the agent and other stages can tell whether its writer runs. */
export function spoolFileName(pid: number, random: string): string {
  return `${pid}-${random}.jsonl`;
}

/** The pid in a spool file's name, or null for a name that is not a stage process's file. */
export function spoolFilePid(name: string): number | null {
  const pid = /^(\d+)-[0-9a-f]+\.jsonl$/.exec(name)?.[1];
  return pid === undefined ? null : Number(pid);
}

/** The mark the agent leaves beside a spool file once it has written all of that stage (its last lines among it). */
export function writtenMark(spoolFile: string): string {
  return spoolFile.replace(/\.jsonl$/, ".written");
}
