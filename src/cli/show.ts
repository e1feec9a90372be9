import { basename, dirname, relative, resolve } from "node:path";
import { statSync } from "node:fs";
import { errorHeadline, firstLine, formatDuration, formatSize, oneLine, plural } from "../format.js";
import { runRelativePath } from "../report/run-files.js";
import { expiredLease, loadRun, type LoadedRun, type LoadedStage } from "../run/load-run.js";
import { PIPELINE_FILE, type StageState } from "../run/pipeline-summary.js";
import type { ManifestFileEntry } from "../types.js";
import { UsageError } from "./args.js";
import type { CliStream, Command } from "./command.js";
import { SHOWN_PER_LIST } from "./declarations.js";

/** How many inputs, outputs, warnings and errors a stage shows without `--files`. */
export { SHOWN_PER_LIST };

const BAD_STATES: ReadonlySet<StageState> = new Set(["failed", "interrupted", "abandoned"]);

interface FileSummary {
  path: string;
  exists: boolean;
  size: number | null;
}

interface StageSummary {
  number: number | null;
  name: string;
  status: StageState;
  status_reason: string | null;
  duration_ms: number | null;
  started_at: string | null;
  inputs: FileSummary[];
  outputs: FileSummary[];
  warnings: string[];
  errors: { type: string; message: string }[];
  manifest: string | null;
  problem: string | null;
}

function abandonedText(s: LoadedStage): string {
  const lease = expiredLease(s);
  if (lease) return `its lease on host ${lease.host} expired at ${lease.expiredAt} (host or process gone)`;
  return `process ${s.manifest?.process?.pid} on ${s.manifest?.process?.hostname} is gone`;
}

function summariseStage(run: LoadedRun, s: LoadedStage): StageSummary {
  const m = s.manifest;
  const files = (list: ManifestFileEntry[] | undefined): FileSummary[] =>
    (Array.isArray(list) ? list : []).map((f) => ({
      path: runRelativePath(run, s, String(f.path)),
      exists: f.exists !== false,
      size: typeof f.size === "number" ? f.size : null,
    }));
  return {
    number: s.number,
    name: s.name,
    status: s.state,
    status_reason: s.state === "abandoned" ? abandonedText(s) : (m?.status_reason ?? null),
    duration_ms: m?.duration_ms ?? null,
    started_at: m?.started_at ?? null,
    inputs: files(m?.inputs),
    outputs: files(m?.outputs),
    warnings: (Array.isArray(m?.warnings) ? m.warnings : []).map((w) => firstLine(String(w.message))),
    errors: (Array.isArray(m?.errors) ? m.errors : []).map((e) => ({ type: String(e.type), message: firstLine(String(e.message)) })),
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

export interface ShowOptions {
  /** Colour with ANSI escapes (for a terminal). */
  colour?: boolean;
  /** List every file, warning and error instead of the first few. */
  all?: boolean;
}

/** The text `stagetrace show` prints. Every value from the run is made one safe line (`oneLine`). */
export function renderShow(run: LoadedRun, options: ShowOptions = {}): string {
  const paint = (code: string | undefined, text: string) => (options.colour && code ? `\u001b[${code}m${text}\u001b[0m` : text);
  const limit = options.all ? Infinity : SHOWN_PER_LIST;
  const out: string[] = [];
  const p = run.pipeline;
  const where = relative(process.cwd(), run.runDir) || ".";
  if (p) {
    const status = oneLine(String(p.status));
    out.push(
      `${paint("1", `RUN ${oneLine(String(p.pipeline))}`)}  ${oneLine(String(p.run_id))}  ${paint(COLOURS[status], status)}  ${formatDuration(p.duration_ms)}  trace ${oneLine(String(p.trace?.trace_id ?? "-"))}`,
    );
  }
  out.push(`run directory: ${oneLine(where)}`);
  if (run.stages.length === 0) out.push("  (no stage directories with a manifest.json)");
  let hidden = false;
  const indent = "       ";
  /** The first `limit` items, then a line that counts the rest. */
  const some = <T>(items: T[], noun: string, line: (item: T) => string, extra = ""): void => {
    for (const item of items.slice(0, limit)) out.push(`${indent}${line(item)}`);
    if (items.length > limit) {
      hidden = true;
      out.push(`${indent}${paint("90", `… ${plural(items.length - limit, `more ${noun}`, `more ${noun}s`)}${extra}`)}`);
    }
  };
  const fileLine = (label: string) => (f: FileSummary) =>
    `${label} ${oneLine(f.path)}${f.exists ? ` (${formatSize(f.size)})` : paint("31", " (missing)")}`;
  // Missing files first: they are what a reader looks for.
  const missingFirst = (files: FileSummary[]) => [...files.filter((f) => !f.exists), ...files.filter((f) => f.exists)];
  const missingNote = (files: FileSummary[]) => {
    const hiddenMissing = missingFirst(files)
      .slice(limit)
      .filter((f) => !f.exists).length;
    return hiddenMissing > 0 ? `, ${hiddenMissing} of them missing` : "";
  };
  for (const s of run.stages.map((st) => summariseStage(run, st))) {
    const num = s.number === null ? "  " : String(s.number).padStart(2, "0");
    const missing = [...s.inputs, ...s.outputs].filter((f) => !f.exists).length;
    const files =
      s.status === "not_run"
        ? ""
        : `  in ${s.inputs.length}  out ${s.outputs.length}${missing > 0 ? paint("31", `  missing ${missing}`) : ""}`;
    const name = oneLine(s.name);
    out.push(
      `  ${num} ${name.padEnd(20)} ${paint(COLOURS[s.status], String(s.status).padEnd(11))} ${formatDuration(s.duration_ms).padStart(9)}${files}`,
    );
    if (s.problem) out.push(`${indent}${paint("31", `! ${oneLine(s.problem)}`)}`);
    if (s.status_reason && s.status !== "success") out.push(`${indent}reason: ${oneLine(firstLine(s.status_reason))}`);
    some(missingFirst(s.inputs), "input", fileLine("in  "), missingNote(s.inputs));
    some(missingFirst(s.outputs), "output", fileLine("out "), missingNote(s.outputs));
    some(s.warnings, "warning", (w) => `${paint("33", "warning:")} ${oneLine(w)}`);
    some(s.errors, "error", (e) => `${paint("31", "error:")} ${oneLine(errorHeadline(e.type, e.message))}`);
  }
  if (hidden) out.push(paint("90", "(--files lists every file, warning and error)"));
  return out.join("\n") + "\n";
}

/**
 * Loads what `show` was pointed at, or says why it is not a run: a
 * `pipeline.json` stands for its run directory; any other file must be a
 * stage manifest, and a directory must hold a manifest, a pipeline.json or
 * stage directories.
 */
export function loadShowTarget(path: string): LoadedRun {
  const target = resolve(path);
  let isFile = false;
  try {
    isFile = !statSync(target).isDirectory();
  } catch {
    // loadRun names a path that does not exist (exit 1)
  }
  const notARun = (why: string) => new UsageError(`${path}: not a manifest.json, pipeline.json or run directory (${oneLine(why)})`);
  if (isFile && basename(target) === PIPELINE_FILE) {
    const run = loadRun(dirname(target));
    if (!run.pipeline) throw notARun(`${target} is not a stagetrace pipeline.json`);
    return run;
  }
  const run = loadRun(target);
  const only = run.stages.length === 1 ? run.stages[0]! : null;
  if (isFile && only && (only.manifest === null || only.problem !== null)) throw notARun(only.problem ?? "unreadable");
  if (!isFile && run.stages.length === 0 && !run.pipeline) throw notARun("no manifest.json, pipeline.json or stage directory in it");
  return run;
}

/** Stops quietly when the reader of stdout goes away (`stagetrace show RUN | head`). */
function quietOnClosedPipe(stdout: CliStream): void {
  stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    stdout.destroy();
  });
}

export const command: Command = {
  async main(parsed, io) {
    if (parsed.positionals.length !== 1) throw new UsageError("expected one RUN_DIR, STAGE_DIR, MANIFEST or PIPELINE_JSON");
    const run = loadShowTarget(parsed.positionals[0]!);
    quietOnClosedPipe(io.stdout);
    if (parsed.booleans.has("json")) {
      const json = {
        run_dir: run.runDir,
        pipeline: run.pipeline
          ? {
              name: run.pipeline.pipeline,
              run_id: run.pipeline.run_id,
              status: run.pipeline.status,
              trace_id: run.pipeline.trace?.trace_id ?? null,
              duration_ms: run.pipeline.duration_ms,
            }
          : null,
        stages: run.stages.map((s) => summariseStage(run, s)),
      };
      io.stdout.write(JSON.stringify(json, null, 2) + "\n");
    } else {
      const colour = io.stdout.isTTY === true && !io.env.NO_COLOR;
      io.stdout.write(renderShow(run, { colour, all: parsed.booleans.has("files") }));
    }
    return run.stages.some((s) => BAD_STATES.has(s.state)) ? 1 : 0;
  },
};
