import { appendFileSync, mkdirSync } from "node:fs";
import { basename, delimiter, join } from "node:path";
import { packageRoot } from "../package-root.js";
import type { RunStatus } from "../run/pipeline-summary.js";
import { resolveRunDir, validateStageName } from "../run/run-directory.js";
import { LogFiles } from "../log/log-files.js";
import { announceRun, prepareRun, runEnvironment, startWithoutSdk, traceparentOf, type PreparedRun } from "../run/run-begin.js";
import { colourFor, runOutcomeText } from "../run/run-outcome.js";
import { requireCommand, UsageError, type ParsedArgs } from "./args.js";
import type { CliIO, Command } from "./command.js";
import { childEnvWithTraceparent, exitCodeOf, killGraceMs, runChild, type ChildOutcome } from "./child-process.js";
import { dieBy } from "../process-exit.js";
import { redactArgv } from "../values/redaction.js";
import { StagetraceError } from "../errors.js";
import { errnoText } from "../fs/errno-text.js";
import { createSpool } from "../agent/agent-env.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import { AGENT_ENV } from "../protocol/stage-record.js";
import { stagetraceSettings } from "../config/stagetrace-settings.js";

/** The OpenTelemetry side of run (src/cli/run-sdk.ts), loaded when it is needed: for `run`, once its pipeline runs where it can. */
type RunSdk = typeof import("./run-sdk.js");
const loadSdk = (): Promise<RunSdk> => import("./run-sdk.js");

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

async function shutdown(sdk: RunSdk, tool: string, io: CliIO): Promise<void> {
  try {
    await sdk.shutdownTelemetry();
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
  const sdk = await loadSdk();
  const telemetry = sdk.initTelemetry({ handleSignals: false });
  const begun = sdk.beginRun({
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
  await shutdown(sdk, tool, io);
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
  const sdk = await loadSdk();
  const telemetry = sdk.initTelemetry({ handleSignals: false });
  // Stages whose agent died (kill -9 of stagetrace run) left their records in its spool.
  await sdk.StageAgent.pickUp(runDir, tool, (m) => io.stderr.write(`${tool}: ${m}\n`));
  const ended = sdk.endRun({
    runDir,
    telemetry,
    end: new Date(),
    exitCode: exitText === undefined ? null : Number(exitText),
    signal: null,
    requested: (requested as Exclude<RunStatus, "running"> | undefined) ?? null,
    tool,
    stderr: io.stderr,
  });
  await shutdown(sdk, tool, io);
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

    const note = (m: string): void => void io.stderr.write(`${tool}: ${m}\n`);
    const settings = stagetraceSettings(io.env, note);
    const command = redactArgv(argv);
    const resume = parsed.booleans.has("resume");
    const runOptions = { runDir, name, stages, command, resume, start, tool, stderr: io.stderr };
    // The agent of the run's stages (docs/protocol.md, "The agent channel"); an outer run's is not this run's.
    // On unless STAGETRACE_RUN_AGENT=0 (src/config): the stages then run their telemetry themselves.
    const spool = settings.runAgent() ? createSpool(runDir, note) : null;
    const vars = (begun: PreparedRun): Record<string, string> => {
      const v: Record<string, string> = {
        ...runEnvironment(begun, runDir),
        STAGETRACE_PIPELINE_LOG: begun.pipelineLog,
        PATH: [join(packageRoot(), "bin"), io.env.PATH ?? ""].join(delimiter),
        [AGENT_ENV]: spool ?? "",
      };
      delete v.TRACEPARENT;
      delete v.TRACESTATE;
      return v;
    };
    // The pipeline leads a process group of its own: a SIGTERM or SIGINT sent to run alone
    // (Kubernetes, systemd, a CI runner) reaches every stage, and SIGKILL follows after the grace period.
    const spawnPipeline = (env: NodeJS.ProcessEnv): Promise<ChildOutcome> =>
      runChild(argv, {
        env,
        stdio: "inherit",
        group: true,
        // Killed itself (even by SIGKILL), run takes the pipeline's process group with it.
        watchdog: true,
        graceMs: killGraceMs(io.env, note),
        onSignal: (signal) => io.stderr.write(`${tool}: ${signal}: stopping the pipeline\n`),
      });

    // With the agent, and where the run span's sampling follows from the configuration alone, the
    // pipeline starts first and the SDK loads while it runs: the stages' records wait in the spool.
    const early = spool === null ? null : startWithoutSdk(io.env, resume);
    let sdk: RunSdk | null = null;
    let telemetry: Telemetry | null = null;
    let running: Promise<ChildOutcome>;
    if (early) {
      const begun = prepareRun({ ...runOptions, parentFromEnv: early.parent, startSpan: early.startSpan });
      // The run's first line, before any stage's: a stage that runs in-process writes the pipeline log itself.
      const logFiles = new LogFiles(note);
      announceRun(logFiles, begun, runDir, command);
      logFiles.close();
      running = spawnPipeline(childEnvWithTraceparent(traceparentOf(begun.state.trace), vars(begun), io.env));
      try {
        sdk = await loadSdk();
        telemetry = sdk.initTelemetry({ handleSignals: false });
      } catch (err) {
        // The pipeline runs on: its stages' records stay in the spool for `stagetrace run end` to apply.
        note(`cannot start the run's telemetry (${(err as Error).message}); the pipeline runs on, its records stay in ${spool}`);
        sdk = null;
      }
    } else {
      sdk = await loadSdk();
      telemetry = sdk.initTelemetry({ handleSignals: false });
      const begun = sdk.beginRun({ ...runOptions, telemetry });
      running = spawnPipeline(sdk.childEnv(sdk.trace.getSpan(begun.parent)!, vars(begun), io.env));
    }
    const agent = spool !== null && sdk !== null ? sdk.StageAgent.of(spool, tool, note) : null;
    agent?.start();
    const outcome = await running;
    const exitCode = exitCodeOf(outcome);
    if (outcome.spawnError) io.stderr.write(`${tool}: cannot run ${argv[0]}: ${outcome.spawnError.message}\n`);
    await agent?.drain();
    if (sdk !== null && telemetry !== null) {
      const ended = sdk.endRun({ runDir, telemetry, end: new Date(), exitCode, signal: outcome.signal, tool, stderr: io.stderr });
      await shutdown(sdk, tool, io);
      io.stderr.write(
        runOutcomeText(tool, ended.summary, ended.run, {
          colour: colourFor(io.stderr, io.env),
          always: parsed.booleans.has("summary"),
        }),
      );
    }
    // Die as the pipeline died, so the calling shell stops as it would without run.
    // A command that needed SIGKILL after a forwarded signal ends us by the signal we were sent.
    if (outcome.signal) dieBy(outcome.forwarded && outcome.signal === "SIGKILL" ? outcome.forwarded : outcome.signal);
    return exitCode;
  },
};
