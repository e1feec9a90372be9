import { trace } from "@opentelemetry/api";
import { appendFileSync, mkdirSync } from "node:fs";
import { basename, delimiter, join } from "node:path";
import { packageRoot } from "../package-root.js";
import type { RunStatus } from "../run/pipeline-summary.js";
import { resolveRunDir, validateStageName } from "../run/run-directory.js";
import { beginRun, endRun, runEnvironment, type BegunRun } from "./run-session.js";
import { colourFor, runOutcomeText } from "../run/run-outcome.js";
import { initTelemetry, shutdownTelemetry } from "../telemetry/telemetry.js";
import { requireCommand, UsageError, type ParsedArgs } from "./args.js";
import type { CliIO, Command } from "./command.js";
import { childEnv, exitCodeOf, killGraceMs, runChild } from "./child-process.js";
import { dieBy } from "../process-exit.js";
import { redactArgv } from "../values/redaction.js";
import { StagetraceError } from "../errors.js";
import { errnoText } from "../fs/errno-text.js";
import { StageAgent } from "../agent/stage-agent.js";
import { AGENT_ENV } from "../protocol/stage-record.js";
import { stagetraceSettings } from "../config/stagetrace-settings.js";

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
}

function quoteSh(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

async function shutdown(tool: string, io: CliIO): Promise<void> {
  try {
    await shutdownTelemetry();
  } catch (err) {
    io.stderr.write(`${tool}: telemetry shutdown failed: ${(err as Error).message}\n`);
  }
}

async function begin(parsed: ParsedArgs, io: CliIO): Promise<number> {
  const tool = "stagetrace run begin";
  noPositionals(parsed);
  const format = parsed.strings.get("format") ?? "env";
  if (!["env", "sh", "json"].includes(format)) throw new UsageError(`--format must be env, sh or json, got ${JSON.stringify(format)}`);
  const runId = parsed.strings.get("run-id");
  if (runId !== undefined && !/^[\w.:@+-]{1,200}$/.test(runId)) {
    throw new UsageError(`--run-id ${JSON.stringify(runId)}: use letters, digits and . _ : @ + - only`);
  }
  const stages = stagesOption(parsed);
  const start = new Date();
  const runDir = resolveRunDir(parsed.strings.get("run-dir"), io.env, start);
  const name = parsed.strings.get("name") ?? (stagetraceSettings(io.env).pipeline() || basename(runDir));
  const telemetry = initTelemetry({ handleSignals: false });
  const begun = beginRun({
    runDir,
    name,
    stages,
    command: redactArgv(["stagetrace", "run", "begin", ...parsed.argv]),
    resume: parsed.booleans.has("resume"),
    ...(runId !== undefined ? { runId } : {}),
    start,
    telemetry,
    tool,
    stderr: io.stderr,
  });
  const env = runEnvironment(begun, runDir);
  const lines = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  if (lines.some((l) => l.includes("\n")))
    throw new UsageError("the run directory's path holds a newline; it cannot be passed as an environment line");
  const envFile = parsed.strings.get("env-file");
  if (envFile !== undefined) appendFileSync(envFile, lines.join("\n") + "\n");
  if (format === "json") io.stdout.write(JSON.stringify(env) + "\n");
  else if (format === "sh")
    io.stdout.write(
      Object.entries(env)
        .map(([k, v]) => `export ${k}=${quoteSh(v)}`)
        .join("\n") + "\n",
    );
  else io.stdout.write(lines.join("\n") + "\n");
  await shutdown(tool, io);
  return 0;
}

const STATUSES = new Set(["success", "failed", "interrupted"]);

async function end(parsed: ParsedArgs, io: CliIO): Promise<number> {
  const tool = "stagetrace run end";
  noPositionals(parsed);
  const requested = parsed.strings.get("status");
  if (requested !== undefined && !STATUSES.has(requested)) {
    throw new UsageError(`--status must be success, failed or interrupted, got ${JSON.stringify(requested)}`);
  }
  const exitText = parsed.strings.get("exit-code");
  if (exitText !== undefined && !/^\d{1,3}$/.test(exitText))
    throw new UsageError(`--exit-code must be a whole number 0-255, got ${JSON.stringify(exitText)}`);
  const runDir = resolveRunDir(parsed.strings.get("run-dir"), io.env, new Date());
  const telemetry = initTelemetry({ handleSignals: false });
  // Stages whose agent died (kill -9 of stagetrace run) left their records in its spool.
  await StageAgent.pickUp(runDir, tool, (m) => io.stderr.write(`${tool}: ${m}\n`));
  const ended = endRun({
    runDir,
    telemetry,
    end: new Date(),
    exitCode: exitText === undefined ? null : Number(exitText),
    signal: null,
    requested: (requested as Exclude<RunStatus, "running"> | undefined) ?? null,
    tool,
    stderr: io.stderr,
  });
  await shutdown(tool, io);
  io.stderr.write(
    runOutcomeText(tool, ended.summary, ended.run, {
      colour: colourFor(io.stderr, io.env),
      always: parsed.booleans.has("summary"),
    }),
  );
  return ended.summary.status === "success" ? 0 : 1;
}

/** `stagetrace run begin`. */
export const beginCommand: Command = { main: begin };
/** `stagetrace run end`. */
export const endCommand: Command = { main: end };

export const command: Command = {
  async main(parsed, io) {
    const tool = "stagetrace run";
    const argv = requireCommand(parsed);
    const start = new Date();
    const stages = stagesOption(parsed);
    const name = parsed.strings.get("name") ?? (stagetraceSettings(io.env).pipeline() || pipelineNameFor(argv));
    const runDir = resolveRunDir(parsed.strings.get("run-dir"), io.env, start);
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
      stderr: io.stderr,
    });
    const runCtx = trace.getSpan(begun.parent)!;
    const vars: Record<string, string> = {
      ...runEnvironment(begun, runDir),
      STAGETRACE_PIPELINE_LOG: begun.pipelineLog,
      PATH: [join(packageRoot(), "bin"), io.env.PATH ?? ""].join(delimiter),
    };
    delete vars.TRACEPARENT;
    delete vars.TRACESTATE;
    // The agent of the run's stages (docs/protocol.md, "The agent channel"); an outer run's is not this run's.
    // On unless STAGETRACE_RUN_AGENT=0 (src/config): the stages then run their telemetry themselves.
    const agent = !stagetraceSettings(io.env, (m) => io.stderr.write(`${tool}: ${m}\n`)).runAgent()
      ? null
      : StageAgent.create(runDir, tool, (m) => io.stderr.write(`${tool}: ${m}\n`));
    vars[AGENT_ENV] = agent?.dir ?? "";
    agent?.start();
    const env = childEnv(runCtx, vars, io.env);

    // The pipeline leads a process group of its own: a SIGTERM or SIGINT sent to run alone
    // (Kubernetes, systemd, a CI runner) reaches every stage, and SIGKILL follows after the grace period.
    const outcome = await runChild(argv, {
      env,
      stdio: "inherit",
      group: true,
      // Killed itself (even by SIGKILL), run takes the pipeline's process group with it.
      watchdog: true,
      graceMs: killGraceMs(io.env, (m) => io.stderr.write(`${tool}: ${m}\n`)),
      onSignal: (signal) => io.stderr.write(`${tool}: ${signal}: stopping the pipeline\n`),
    });
    const exitCode = exitCodeOf(outcome);
    if (outcome.spawnError) io.stderr.write(`${tool}: cannot run ${argv[0]}: ${outcome.spawnError.message}\n`);
    await agent?.drain();

    const ended = endRun({ runDir, telemetry, end: new Date(), exitCode, signal: outcome.signal, tool, stderr: io.stderr });
    await shutdown(tool, io);
    io.stderr.write(
      runOutcomeText(tool, ended.summary, ended.run, {
        colour: colourFor(io.stderr, io.env),
        always: parsed.booleans.has("summary"),
      }),
    );
    // Die as the pipeline died, so the calling shell stops as it would without run.
    // A command that needed SIGKILL after a forwarded signal ends us by the signal we were sent.
    if (outcome.signal) dieBy(outcome.forwarded && outcome.signal === "SIGKILL" ? outcome.forwarded : outcome.signal);
    return exitCode;
  },
};
