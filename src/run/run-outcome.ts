import { join } from "node:path";
import type { LoadedRun } from "./load-run.js";
import type { PipelineData, PipelineStageEntry } from "./pipeline-summary.js";

/** Colour on stderr only for a terminal, and never with NO_COLOR set (https://no-color.org) or TERM=dumb. */
export function colourFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (!stream.isTTY) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return env.TERM !== "dumb";
}

const MAX_STAGES = 5;

function firstLine(text: string | null | undefined): string | null {
  if (!text) return null;
  const line = text.split("\n").find((l) => l.trim() !== "");
  if (!line) return null;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function label(s: PipelineStageEntry): string {
  return s.number === null ? s.name : `${String(s.number).padStart(2, "0")} ${s.name}`;
}

const BAD = new Set(["failed", "interrupted", "abandoned", "running", "not_run"]);

/**
 * What a user sees on stderr when a run ends. A failed run: which stages did
 * not succeed, why (reason and first error line), and where to look (manifest,
 * stage.log, `stagetrace show`, `stagetrace report`). A successful run: one
 * line, and only when `always` is set; otherwise nothing.
 */
export function runOutcomeText(tool: string, summary: PipelineData, run: LoadedRun, options: { colour: boolean; always: boolean }): string {
  const paint = (code: string, text: string) => (options.colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const seconds = summary.duration_ms === null ? "" : ` after ${(summary.duration_ms / 1000).toFixed(1)} s`;
  if (summary.status === "success") {
    if (!options.always) return "";
    const n = summary.stages.length;
    return `${tool}: pipeline ${summary.pipeline} ${paint("32", "success")}${seconds}: ${n} stage${n === 1 ? "" : "s"}; ${join(summary.run_dir, "pipeline.json")}\n`;
  }
  const how = summary.signal ? ` (${summary.signal})` : summary.exit_code !== null ? ` (exit code ${summary.exit_code})` : "";
  const out: string[] = [`${tool}: pipeline ${summary.pipeline} ${paint("1;31", summary.status)}${how}${seconds}, run ${summary.run_id}`];
  const bad = summary.stages.filter((s) => BAD.has(s.status));
  if (bad.length === 0 && summary.exit_code === 0) out.push("  every stage succeeded, but the run was ended as not successful");
  if (bad.length === 0 && summary.exit_code !== 0 && summary.exit_code !== null) out.push("  no stage failed: the pipeline's command itself did not succeed");
  for (const s of bad.slice(0, MAX_STAGES)) {
    const loaded = run.stages.find((l) => l.name === s.name && l.number === s.number);
    const m = loaded?.manifest ?? null;
    if (s.status === "not_run") {
      out.push(`  stage ${label(s)}: ${paint("33", "not_run")} (in the stage list, never started)`);
      continue;
    }
    const reason = m?.status_reason ? `: ${firstLine(m.status_reason)}` : "";
    out.push(`  stage ${label(s)}: ${paint("31", s.status)}${reason}${s.host ? ` [host ${s.host}]` : ""}`);
    const error = firstLine(m?.errors?.[0]?.message);
    if (error && error !== firstLine(m?.status_reason)) out.push(`    first error: ${error}`);
    if (loaded && loaded.manifestPath) out.push(`    manifest:  ${loaded.manifestPath}`);
    if (m?.logs?.stage_log) out.push(`    stage.log: ${m.logs.stage_log}`);
  }
  if (bad.length > MAX_STAGES) out.push(`  and ${bad.length - MAX_STAGES} more stage(s); see pipeline.json`);
  out.push(`  look: stagetrace show ${summary.run_dir}  |  stagetrace report ${summary.run_dir}  |  ${join(summary.run_dir, "pipeline.json")}`);
  return out.join("\n") + "\n";
}
