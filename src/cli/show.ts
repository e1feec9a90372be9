import { relative } from "node:path";
import { runRelativePath } from "../report/run-files.js";
import { loadRun, type LoadedRun, type LoadedStage } from "../run/load-run.js";
import type { StageState } from "../run/pipeline-summary.js";
import type { ManifestFileEntry } from "../types.js";
import { parseArgs, UsageError, type Command } from "./args.js";

const USAGE = "stagetrace show RUN_DIR|STAGE_DIR|MANIFEST [--json]";

const HELP = `Summarises a run directory, one stage directory, or one manifest.json:
per stage its number, name, status, duration, inputs and outputs, warnings,
and errors (the first line of each).

A stage whose manifest still says "running" while its process is gone from
this host is shown as "abandoned" (killed, or the machine went down).

Options:
  --json     print the summary as JSON, for scripts
  -h, --help this text

Exit code: 0, or 1 when a stage failed, was interrupted or was abandoned.
Colour is used only when stdout is a terminal (and NO_COLOR is unset).
`;

const BAD_STATES: ReadonlySet<StageState> = new Set(["failed", "interrupted", "abandoned"]);

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function formatSize(bytes: number | null): string {
  if (bytes === null) return "";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

interface StageSummary {
  number: number | null;
  name: string;
  status: StageState;
  status_reason: string | null;
  duration_ms: number | null;
  started_at: string | null;
  inputs: { path: string; exists: boolean; size: number | null }[];
  outputs: { path: string; exists: boolean; size: number | null }[];
  warnings: string[];
  errors: { type: string; message: string }[];
  manifest: string | null;
  problem: string | null;
}

function summariseStage(run: LoadedRun, s: LoadedStage): StageSummary {
  const m = s.manifest;
  const files = (list: ManifestFileEntry[] | undefined) =>
    (list ?? []).map((f) => ({ path: runRelativePath(run, s, f.path), exists: f.exists, size: f.size }));
  return {
    number: s.number,
    name: s.name,
    status: s.state,
    status_reason: s.state === "abandoned" ? `process ${m?.process.pid} on ${m?.process.hostname} is gone` : (m?.status_reason ?? null),
    duration_ms: m?.duration_ms ?? null,
    started_at: m?.started_at ?? null,
    inputs: files(m?.inputs),
    outputs: files(m?.outputs),
    warnings: (m?.warnings ?? []).map((w) => firstLine(w.message)),
    errors: (m?.errors ?? []).map((e) => ({ type: e.type, message: firstLine(e.message) })),
    manifest: s.manifestPath ? runRelativePath(run, s, s.manifestPath) : null,
    problem: s.problem,
  };
}

const COLOURS: Record<string, string> = {
  success: "32",
  failed: "31",
  abandoned: "31",
  interrupted: "33",
  running: "36",
  skipped: "90",
  not_run: "90",
};

export function renderShow(run: LoadedRun, colour: boolean): string {
  const paint = (code: string | undefined, text: string) => (colour && code ? `\u001b[${code}m${text}\u001b[0m` : text);
  const out: string[] = [];
  const p = run.pipeline;
  const where = relative(process.cwd(), run.runDir) || ".";
  if (p) {
    out.push(
      `${paint("1", `RUN ${p.pipeline}`)}  ${p.run_id}  ${paint(COLOURS[p.status], p.status)}  ${formatDuration(p.duration_ms)}  trace ${p.trace.trace_id}`,
    );
  }
  out.push(`run directory: ${where}`);
  if (run.stages.length === 0) out.push("  (no stage directories with a manifest.json)");
  for (const s of run.stages.map((st) => summariseStage(run, st))) {
    const num = s.number === null ? "  " : String(s.number).padStart(2, "0");
    const files = s.status === "not_run" ? "" : `  in ${s.inputs.length}  out ${s.outputs.length}`;
    out.push(`  ${num} ${s.name.padEnd(20)} ${paint(COLOURS[s.status], s.status.padEnd(11))} ${formatDuration(s.duration_ms).padStart(9)}${files}`);
    const indent = "       ";
    if (s.problem) out.push(`${indent}${paint("31", "! " + s.problem)}`);
    if (s.status_reason && s.status !== "success") out.push(`${indent}reason: ${firstLine(s.status_reason)}`);
    for (const f of s.inputs) out.push(`${indent}in   ${f.path}${f.exists ? ` (${formatSize(f.size)})` : paint("31", " (missing)")}`);
    for (const f of s.outputs) out.push(`${indent}out  ${f.path}${f.exists ? ` (${formatSize(f.size)})` : paint("31", " (missing)")}`);
    for (const w of s.warnings) out.push(`${indent}${paint("33", "warning:")} ${w}`);
    for (const e of s.errors) out.push(`${indent}${paint("31", "error:")} ${e.type}: ${e.message}`);
  }
  return out.join("\n") + "\n";
}

export const command: Command = {
  usage: USAGE,
  help: HELP,
  async main(args) {
    const parsed = parseArgs(args, { json: "boolean" });
    if (parsed.command !== null) throw new UsageError("show takes no command after --");
    if (parsed.positionals.length !== 1) throw new UsageError("expected one RUN_DIR, STAGE_DIR or MANIFEST");
    const run = loadRun(parsed.positionals[0]!);
    if (parsed.booleans.has("json")) {
      const json = {
        run_dir: run.runDir,
        pipeline: run.pipeline
          ? { name: run.pipeline.pipeline, run_id: run.pipeline.run_id, status: run.pipeline.status, trace_id: run.pipeline.trace.trace_id, duration_ms: run.pipeline.duration_ms }
          : null,
        stages: run.stages.map((s) => summariseStage(run, s)),
      };
      process.stdout.write(JSON.stringify(json, null, 2) + "\n");
    } else {
      const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
      process.stdout.write(renderShow(run, colour));
    }
    return run.stages.some((s) => BAD_STATES.has(s.state)) ? 1 : 0;
  },
};
