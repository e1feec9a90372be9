import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { basename, delimiter, join, relative } from "node:path";
import { ATTR, RUN_SPAN_PREFIX } from "../conventions.js";
import { redactArgv } from "../values/redaction.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { errnoText } from "../fs/errno-text.js";
import { StagetraceError } from "../errors.js";
import { spanFromManifest } from "../manifest/span-from-manifest.js";
import { packageRoot } from "../package-root.js";
import { lastSignOfLife, loadRun, type LoadedRun } from "../run/load-run.js";
import { PIPELINE_FILE, PIPELINE_SCHEMA_VERSION, type PipelineData, type PipelineStageEntry, type RunStatus } from "../run/pipeline-summary.js";
import { loadOrCreateRunState, pipelineLogPath, resolveRunDir, validateStageName } from "../run/run-directory.js";
import { contextFromEnv, initTelemetry, shutdownTelemetry, type Telemetry } from "../telemetry/telemetry.js";
import type { ManifestData } from "../types.js";
import { parseArgs, requireCommand, UsageError, type Command } from "./args.js";
import { childEnv, exitCodeOf, killGraceMs, runChild } from "./child-process.js";
import { dieBy } from "../process-exit.js";

const USAGE = "stagetrace run [--name NAME] [--run-dir DIR] [--stages a,b,c] -- COMMAND [ARGS...]";

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
TypeScript stages (StageIO, runStage) and "stagetrace exec" stages started
underneath all land in that trace and that run directory.

  --name NAME      the pipeline's name (default: STAGETRACE_PIPELINE, else the
                   script's name)
  --run-dir DIR    the run directory (default: OUTPUT_DIR, else
                   STAGETRACE_RUN_DIR, else ./out/run-<start time>)
  --stages a,b,c   the stage names in order (numbers the stage directories)

Writes <run dir>/pipeline.json when the run starts (status "running") and
when COMMAND returns: the run's status, trace id, start and end, and one
entry per stage (number, name, status, duration, manifest path). A stage
whose manifest still says "running" when COMMAND returns, and whose process
is gone, is marked "interrupted" and its span is ended and exported.

SIGINT and SIGTERM are forwarded to COMMAND. Exit code: COMMAND's (128 + the
signal's number when a signal killed it).
`;

const INTERPRETERS = new Set(["sh", "bash", "zsh", "dash", "node", "python", "python3", "npx", "tsx", "deno", "bun"]);

function pipelineNameFor(argv: string[]): string {
  const first = basename(argv[0]!);
  const script = INTERPRETERS.has(first) ? argv.slice(1).find((a) => !a.startsWith("-")) : undefined;
  return basename(script ?? first).replace(/\.[^.]+$/, "") || first;
}

/** Ends, as interrupted, the span of every stage that still says `running` and whose process is gone. */
function closeAbandonedStages(run: LoadedRun, telemetry: Telemetry): void {
  const now = new Date();
  for (const stage of run.stages) {
    if (stage.state === "running" && stage.manifest) {
      process.stderr.write(
        `stagetrace run: stage ${stage.name} still says running and its process ${stage.manifest.process.pid} is alive; leaving it as it is\n`,
      );
      continue;
    }
    if (stage.state !== "abandoned" || !stage.manifest) continue;
    const m: ManifestData = structuredClone(stage.manifest);
    const reason = `the stage's process (pid ${m.process.pid}) ended without finishing the stage (killed?); marked interrupted by stagetrace run`;
    m.status = "interrupted";
    m.status_reason = reason;
    // It ended when it last showed a sign of life (its files' newest write), not when run noticed.
    const started = Date.parse(m.started_at ?? "");
    const ended = Math.max(lastSignOfLife(stage.dir) ?? now.getTime(), Number.isFinite(started) ? started : 0);
    m.ended_at = new Date(ended).toISOString();
    if (Number.isFinite(started)) m.duration_ms = ended - started;
    m.errors.push({ message: reason, type: "StageAbandoned", stack: null, timestamp: now.toISOString() });
    try {
      telemetry.emitEndedSpan(spanFromManifest(m, stage.dir, telemetry.resource));
      process.stderr.write(`stagetrace run: stage ${stage.name} was left running by a process that is gone; marked interrupted\n`);
    } catch (err) {
      process.stderr.write(`stagetrace run: could not close stage ${stage.name}: ${(err as Error).message}\n`);
    }
  }
}

function stageEntries(run: LoadedRun, listed: readonly string[] | null): PipelineStageEntry[] {
  const entries: PipelineStageEntry[] = run.stages
    .filter((s) => s.state !== "not_run")
    .map((s) => ({
      number: s.number,
      name: s.name,
      status: s.state,
      started_at: s.manifest?.started_at ?? null,
      duration_ms: s.manifest?.duration_ms ?? null,
      manifest: relative(run.runDir, s.manifestPath),
    }));
  (listed ?? []).forEach((name, i) => {
    if (!entries.some((e) => e.name === name)) {
      entries.push({ number: i + 1, name, status: "not_run", started_at: null, duration_ms: null, manifest: null });
    }
  });
  entries.sort((a, b) => (a.number ?? Infinity) - (b.number ?? Infinity));
  return entries;
}

export const command: Command = {
  usage: USAGE,
  help: HELP,
  async main(args) {
    const parsed = parseArgs(args, { name: "string", "run-dir": "string", stages: "string" });
    const argv = requireCommand(parsed);
    // The command line as it is recorded and logged: secrets in it censored.
    const shownArgv = redactArgv(argv);
    const start = new Date();
    const stagesText = parsed.strings.get("stages");
    const stages = stagesText
      ? stagesText
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "")
          .map((s) => {
            try {
              return validateStageName(s, "--stages entry");
            } catch (err) {
              throw new UsageError((err as Error).message);
            }
          })
      : null;
    const name = parsed.strings.get("name") ?? (process.env.STAGETRACE_PIPELINE?.trim() || pipelineNameFor(argv));
    const runDir = resolveRunDir(parsed.strings.get("run-dir"), process.env, start);
    // A run it cannot record is not started: one line, exit 1, the command never runs.
    try {
      mkdirSync(runDir, { recursive: true });
    } catch (err) {
      throw new StagetraceError("IO_ERROR", `cannot create the run directory ${runDir} (${errnoText(err)}); nothing was run`, { cause: err });
    }
    const state = loadOrCreateRunState(runDir, process.env, start);
    const pipelineLog = pipelineLogPath(runDir, state);

    const telemetry = initTelemetry({ handleSignals: false });
    // Whatever started `stagetrace run` (a CI job, say) may pass its own TRACEPARENT.
    const parent = contextFromEnv(context.active());
    const span = telemetry.tracer.startSpan(
      RUN_SPAN_PREFIX + name,
      {
        kind: SpanKind.SERVER,
        startTime: start,
        attributes: {
          [ATTR.pipelineName]: name,
          [ATTR.pipelineRunId]: state.run_id,
          [ATTR.runDir]: runDir,
          [ATTR.pipelineLog]: pipelineLog,
          [ATTR.hostName]: hostname(),
          [ATTR.processPid]: process.pid,
          [ATTR.processArgs]: shownArgv,
        },
      },
      parent,
    );
    const ctx = span.spanContext();
    const summary: PipelineData = {
      schema_version: PIPELINE_SCHEMA_VERSION,
      pipeline: name,
      run_id: state.run_id,
      run_dir: runDir,
      status: "running",
      trace: {
        trace_id: ctx.traceId,
        span_id: ctx.spanId,
        parent_span_id: trace.getSpanContext(parent)?.spanId ?? null,
      },
      started_at: start.toISOString(),
      ended_at: null,
      duration_ms: null,
      command: shownArgv,
      exit_code: null,
      signal: null,
      host: hostname(),
      pid: process.pid,
      stages: (stages ?? []).map((s, i) => ({ number: i + 1, name: s, status: "not_run", started_at: null, duration_ms: null, manifest: null })),
    };
    const summaryPath = join(runDir, PIPELINE_FILE);
    const writeSummary = () => {
      try {
        writeFileAtomic(summaryPath, JSON.stringify(summary, null, 2) + "\n");
      } catch (err) {
        process.stderr.write(`stagetrace run: could not write ${summaryPath}: ${(err as Error).message}\n`);
      }
    };
    writeSummary();

    // The run's own start and end lines in the pipeline log, in the stages' format.
    const runLog = telemetry.logFiles.open(pipelineLog);
    const logLine = (level: "INFO" | "WARN" | "ERROR", msg: string, extra: Record<string, unknown> = {}) => {
      const line = { level, time: Date.now(), pid: process.pid, pipeline: name, run_id: state.run_id, trace_id: ctx.traceId, span_id: ctx.spanId, trace_flags: ctx.traceFlags, ...extra, msg };
      runLog.write(JSON.stringify(line) + "\n");
      runLog.flush();
    };
    logLine("INFO", `pipeline ${name} started: ${shownArgv.join(" ")}`, { run_dir: runDir });

    const env = childEnv(span, {
      OUTPUT_DIR: runDir,
      STAGETRACE_RUN_DIR: runDir,
      STAGETRACE_RUN_ID: state.run_id,
      STAGETRACE_PIPELINE_LOG: pipelineLog,
      STAGETRACE_PIPELINE: name,
      PATH: [join(packageRoot(), "bin"), process.env.PATH ?? ""].join(delimiter),
    });
    if (stages) env.STAGETRACE_STAGES = stages.join(",");

    // The pipeline leads a process group of its own: a SIGTERM or SIGINT sent to run alone
    // (Kubernetes, systemd, a CI runner) reaches every stage, and SIGKILL follows after the grace period.
    const outcome = await runChild(argv, {
      env,
      stdio: "inherit",
      group: true,
      // Killed itself (even by SIGKILL), run takes the pipeline's process group with it.
      watchdog: true,
      graceMs: killGraceMs(process.env, (m) => process.stderr.write(`stagetrace run: ${m}\n`)),
      onSignal: (signal) => process.stderr.write(`stagetrace run: ${signal}: stopping the pipeline\n`),
    });
    const exitCode = exitCodeOf(outcome);
    if (outcome.spawnError) process.stderr.write(`stagetrace run: cannot run ${argv[0]}: ${outcome.spawnError.message}\n`);

    closeAbandonedStages(loadRun(runDir), telemetry);
    const run = loadRun(runDir);
    const end = new Date();
    summary.stages = stageEntries(run, stages);
    // A stage of the declared list that never ran means the pipeline did not do its job, whatever the exit code.
    const stageFailed = summary.stages.some((s) => s.status === "failed" || s.status === "interrupted" || s.status === "abandoned" || s.status === "not_run");
    const status: RunStatus = outcome.signal ? "interrupted" : exitCode !== 0 || stageFailed ? "failed" : "success";
    Object.assign(summary, {
      status,
      ended_at: end.toISOString(),
      duration_ms: end.getTime() - start.getTime(),
      exit_code: exitCode,
      signal: outcome.signal,
    });
    span.setAttribute(ATTR.pipelineResult, status === "success" ? "success" : status === "interrupted" ? "cancellation" : "failure");
    span.setAttribute(ATTR.processExitCode, exitCode);
    if (status === "success") span.setStatus({ code: SpanStatusCode.OK });
    else span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.signal ? `killed by ${outcome.signal}` : `exit code ${exitCode}` });
    span.end(end);
    writeSummary();
    logLine(status === "success" ? "INFO" : "ERROR", `pipeline ${name} ${status} (exit code ${exitCode}) after ${summary.duration_ms} ms`, {
      status,
      exit_code: exitCode,
    });
    try {
      await shutdownTelemetry();
    } catch (err) {
      process.stderr.write(`stagetrace run: telemetry shutdown failed: ${(err as Error).message}\n`);
    }
    if (status !== "success") {
      const bad =
        summary.stages.find((s) => s.status === "failed" || s.status === "interrupted" || s.status === "abandoned") ??
        summary.stages.find((s) => s.status === "not_run");
      const where = bad ? `; stage ${bad.name} ${bad.status}` : "";
      const why = exitCode === 0 ? "the command exited 0, but a stage did not succeed" : `pipeline ${name} ${status} (exit code ${exitCode})`;
      process.stderr.write(`stagetrace run: ${why}${where}; see ${summaryPath}\n`);
    }
    // Die as the pipeline died, so the calling shell stops as it would without run.
    // A command that needed SIGKILL after a forwarded signal ends us by the signal we were sent.
    if (outcome.signal) dieBy(outcome.forwarded && outcome.signal === "SIGKILL" ? outcome.forwarded : outcome.signal);
    return exitCode;
  },
};
