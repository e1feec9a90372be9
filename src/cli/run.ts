import { trace } from "@opentelemetry/api";
import { appendFileSync, mkdirSync } from "node:fs";
import { basename, delimiter, join } from "node:path";
import { packageRoot } from "../package-root.js";
import type { RunStatus } from "../run/pipeline-summary.js";
import { resolveRunDir, validateStageName } from "../run/run-directory.js";
import { beginRun, endRun, runEnvironment, type BegunRun } from "./run-session.js";
import { colourFor, runOutcomeText } from "../run/run-outcome.js";
import { initTelemetry, shutdownTelemetry } from "../telemetry/telemetry.js";
import { parseArgs, requireCommand, UsageError, type Command, type ParsedArgs } from "./args.js";
import { childEnv, exitCodeOf, killGraceMs, runChild } from "./child-process.js";
import { dieBy } from "../process-exit.js";
import { redactArgv } from "../values/redaction.js";
import { StagetraceError } from "../errors.js";
import { errnoText } from "../fs/errno-text.js";
import { stagetraceSettings } from "../config/stagetrace-settings.js";

const USAGE =
  "stagetrace run [--name NAME] [--run-dir DIR] [--stages a,b,c] [--resume] [--summary] -- COMMAND [ARGS...]\n" +
  "       stagetrace run begin [--name NAME] [--run-dir DIR] [--stages a,b,c] [--run-id ID] [--resume] [--format env|sh|json] [--env-file FILE]\n" +
  "       stagetrace run end [--run-dir DIR] [--status success|failed|interrupted] [--exit-code N] [--summary]";

const HELP = `Runs a whole pipeline (COMMAND, typically a shell script that runs the
stages) as one trace and one run directory. It starts the run span
"RUN <name>" and gives COMMAND, and so every stage it starts:
  TRACEPARENT/TRACESTATE/BAGGAGE  the run span's context (W3C env carrier)
  OUTPUT_DIR, STAGETRACE_RUN_DIR  the run directory
  STAGETRACE_RUN_ID               the run's id
  STAGETRACE_PIPELINE_LOG         the run's pipeline log
  STAGETRACE_PIPELINE             the pipeline's name
  STAGETRACE_STAGES               the stage list (with --stages)
  PATH                            with this package's "stagetrace" first
TypeScript stages (StageIO, runStage), "stagetrace exec" stages and Python
stages started underneath all land in that trace and that run directory.

  --name NAME      the pipeline's name (default: STAGETRACE_PIPELINE, else the
                   script's name)
  --run-dir DIR    the run directory (default: OUTPUT_DIR, else
                   STAGETRACE_RUN_DIR, else ./out/run-<start time>)
  --stages a,b,c   the stage names (numbers the stage directories: a stage's
                   number is its place in this list, whatever order they run in)
  --resume         continue the run the directory holds (same run id, same
                   trace) instead of starting a new one
  --summary        also print the one-line summary when the run succeeds

A run directory that already holds a run gets a new run id and a new trace,
unless --resume. The run state (run id, run span, stage list) is saved in
<run dir>/.stagetrace-run.json, where every stage of the run finds it.

Writes <run dir>/pipeline.json when the run starts (status "running") and
when COMMAND returns: the run's status, trace id, start and end, and one
entry per stage (number, name, status, start, end, duration, host, manifest
path). A stage whose manifest still says "running" when COMMAND returns, and
whose process is gone, is marked "interrupted" and its span is ended and
exported. When the run did not succeed, a summary on stderr says which stage,
why, and where to look (colour only on a terminal, never with NO_COLOR).

SIGINT and SIGTERM are forwarded to COMMAND. Exit code: COMMAND's (128 + the
signal's number when a signal killed it).

A run whose stages run as separate tasks (a scheduler, other hosts):

  stagetrace run begin --run-dir DIR --name N --stages a,b,c
      begins the run: writes the run state and pipeline.json ("running") and
      prints, one KEY=VALUE line each, the variables the tasks need
      (TRACEPARENT, OUTPUT_DIR, STAGETRACE_RUN_DIR, STAGETRACE_RUN_ID,
      STAGETRACE_PIPELINE, STAGETRACE_STAGES). --format sh prints export
      lines for eval, --format json one object; --env-file FILE appends the
      KEY=VALUE lines to FILE (GitHub Actions: "$GITHUB_ENV").
      --run-id ID names the run (default: start time and random hex).
  (each task) any stage with OUTPUT_DIR=DIR joins the run: from the
      variables, or from the run state alone.
  stagetrace run end --run-dir DIR [--status S] [--exit-code N]
      ends the run: closes stages left running by processes that are gone
      (a stage on another host: once its lease expired), writes pipeline.json
      with every stage and the listed ones that never ran (not_run), and ends
      the run span under the ids it began with. --status failed (or
      interrupted) records what the scheduler knows; the run is "success" only
      if every listed stage succeeded. Exit code: 0 when the run succeeded,
      1 otherwise.
`;

const INTERPRETERS = new Set(["sh", "bash", "zsh", "dash", "node", "python", "python3", "npx", "tsx", "deno", "bun"]);

function pipelineNameFor(argv: string[]): string {
  const first = basename(argv[0]!);
  const script = INTERPRETERS.has(first) ? argv.slice(1).find((a) => !a.startsWith("-")) : undefined;
  return basename(script ?? first).replace(/\.[^.]+$/, "") || first;
}

function stagesOption(parsed: ParsedArgs): string[] | null {
  const text = parsed.strings.get("stages");
  if (text === undefined) return null;
  const stages = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      try {
        return validateStageName(s, "--stages entry");
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    });
  const dup = stages.find((s, i) => stages.indexOf(s) !== i);
  if (dup !== undefined) throw new UsageError(`--stages names ${JSON.stringify(dup)} twice`);
  return stages;
}

function noPositionals(parsed: ParsedArgs): void {
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
  if (parsed.command !== null) throw new UsageError("takes no command after --");
}

function quoteSh(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

async function shutdown(tool: string): Promise<void> {
  try {
    await shutdownTelemetry();
  } catch (err) {
    process.stderr.write(`${tool}: telemetry shutdown failed: ${(err as Error).message}\n`);
  }
}

async function begin(args: string[]): Promise<number> {
  const tool = "stagetrace run begin";
  const parsed = parseArgs(args, {
    name: "string",
    "run-dir": "string",
    stages: "string",
    "run-id": "string",
    resume: "boolean",
    format: "string",
    "env-file": "string",
  });
  noPositionals(parsed);
  const format = parsed.strings.get("format") ?? "env";
  if (!["env", "sh", "json"].includes(format)) throw new UsageError(`--format must be env, sh or json, got ${JSON.stringify(format)}`);
  const runId = parsed.strings.get("run-id");
  if (runId !== undefined && !/^[\w.:@+-]{1,200}$/.test(runId)) {
    throw new UsageError(`--run-id ${JSON.stringify(runId)}: use letters, digits and . _ : @ + - only`);
  }
  const start = new Date();
  const runDir = resolveRunDir(parsed.strings.get("run-dir"), process.env, start);
  const name = parsed.strings.get("name") ?? (stagetraceSettings(process.env).pipeline() || basename(runDir));
  const telemetry = initTelemetry({ handleSignals: false });
  const begun = beginRun({
    runDir,
    name,
    stages: stagesOption(parsed),
    command: redactArgv(["stagetrace", "run", "begin", ...args]),
    resume: parsed.booleans.has("resume"),
    ...(runId !== undefined ? { runId } : {}),
    start,
    telemetry,
    tool,
  });
  const env = runEnvironment(begun, runDir);
  const lines = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  if (lines.some((l) => l.includes("\n")))
    throw new UsageError("the run directory's path holds a newline; it cannot be passed as an environment line");
  const envFile = parsed.strings.get("env-file");
  if (envFile !== undefined) appendFileSync(envFile, lines.join("\n") + "\n");
  if (format === "json") process.stdout.write(JSON.stringify(env) + "\n");
  else if (format === "sh")
    process.stdout.write(
      Object.entries(env)
        .map(([k, v]) => `export ${k}=${quoteSh(v)}`)
        .join("\n") + "\n",
    );
  else process.stdout.write(lines.join("\n") + "\n");
  await shutdown(tool);
  return 0;
}

const STATUSES = new Set(["success", "failed", "interrupted"]);

async function end(args: string[]): Promise<number> {
  const tool = "stagetrace run end";
  const parsed = parseArgs(args, { "run-dir": "string", status: "string", "exit-code": "string", summary: "boolean" });
  noPositionals(parsed);
  const requested = parsed.strings.get("status");
  if (requested !== undefined && !STATUSES.has(requested)) {
    throw new UsageError(`--status must be success, failed or interrupted, got ${JSON.stringify(requested)}`);
  }
  const exitText = parsed.strings.get("exit-code");
  if (exitText !== undefined && !/^\d{1,3}$/.test(exitText))
    throw new UsageError(`--exit-code must be a whole number 0-255, got ${JSON.stringify(exitText)}`);
  const runDir = resolveRunDir(parsed.strings.get("run-dir"), process.env, new Date());
  const telemetry = initTelemetry({ handleSignals: false });
  const ended = endRun({
    runDir,
    telemetry,
    end: new Date(),
    exitCode: exitText === undefined ? null : Number(exitText),
    signal: null,
    requested: (requested as Exclude<RunStatus, "running"> | undefined) ?? null,
    tool,
  });
  await shutdown(tool);
  process.stderr.write(
    runOutcomeText(tool, ended.summary, ended.run, {
      colour: colourFor(process.stderr, process.env),
      always: parsed.booleans.has("summary"),
    }),
  );
  return ended.summary.status === "success" ? 0 : 1;
}

export const command: Command = {
  usage: USAGE,
  help: HELP,
  async main(args) {
    if (args[0] === "begin") return begin(args.slice(1));
    if (args[0] === "end") return end(args.slice(1));
    const tool = "stagetrace run";
    const parsed = parseArgs(args, { name: "string", "run-dir": "string", stages: "string", resume: "boolean", summary: "boolean" });
    const argv = requireCommand(parsed);
    const start = new Date();
    const stages = stagesOption(parsed);
    const name = parsed.strings.get("name") ?? (stagetraceSettings(process.env).pipeline() || pipelineNameFor(argv));
    const runDir = resolveRunDir(parsed.strings.get("run-dir"), process.env, start);
    // A run it cannot record is not started: one line, exit 1, the command never runs.
    try {
      mkdirSync(runDir, { recursive: true });
    } catch (err) {
      throw new StagetraceError("IO_ERROR", `cannot create the run directory ${runDir} (${errnoText(err)}); nothing was run`, {
        cause: err,
      });
    }

    const telemetry = initTelemetry({ handleSignals: false });
    // The command line as it is recorded and logged: secrets in it censored.
    const begun: BegunRun = beginRun({
      runDir,
      name,
      stages,
      command: redactArgv(argv),
      resume: parsed.booleans.has("resume"),
      start,
      telemetry,
      tool,
    });
    const runCtx = trace.getSpan(begun.parent)!;
    const vars: Record<string, string> = {
      ...runEnvironment(begun, runDir),
      STAGETRACE_PIPELINE_LOG: begun.pipelineLog,
      PATH: [join(packageRoot(), "bin"), process.env.PATH ?? ""].join(delimiter),
    };
    delete vars.TRACEPARENT;
    delete vars.TRACESTATE;
    const env = childEnv(runCtx, vars);

    // The pipeline leads a process group of its own: a SIGTERM or SIGINT sent to run alone
    // (Kubernetes, systemd, a CI runner) reaches every stage, and SIGKILL follows after the grace period.
    const outcome = await runChild(argv, {
      env,
      stdio: "inherit",
      group: true,
      // Killed itself (even by SIGKILL), run takes the pipeline's process group with it.
      watchdog: true,
      graceMs: killGraceMs(process.env, (m) => process.stderr.write(`${tool}: ${m}\n`)),
      onSignal: (signal) => process.stderr.write(`${tool}: ${signal}: stopping the pipeline\n`),
    });
    const exitCode = exitCodeOf(outcome);
    if (outcome.spawnError) process.stderr.write(`${tool}: cannot run ${argv[0]}: ${outcome.spawnError.message}\n`);

    const ended = endRun({ runDir, telemetry, end: new Date(), exitCode, signal: outcome.signal, tool });
    await shutdown(tool);
    process.stderr.write(
      runOutcomeText(tool, ended.summary, ended.run, {
        colour: colourFor(process.stderr, process.env),
        always: parsed.booleans.has("summary"),
      }),
    );
    // Die as the pipeline died, so the calling shell stops as it would without run.
    // A command that needed SIGKILL after a forwarded signal ends us by the signal we were sent.
    if (outcome.signal) dieBy(outcome.forwarded && outcome.signal === "SIGKILL" ? outcome.forwarded : outcome.signal);
    return exitCode;
  },
};
