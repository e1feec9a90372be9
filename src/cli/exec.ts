import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { isatty } from "node:tty";
import { agentSpool } from "../agent/agent-env.js";
import { resolvePropagators } from "../config/telemetry-config.js";
import { ATTR } from "../conventions.js";
import { isUri } from "../fs/uri.js";
import { CommandOutputLogger, OutputFailure, type LineLogger } from "../log/command-output.js";
import { RecordSink, type RecordTarget } from "../protocol/apply-record.js";
import { RecordsFile, removeFile } from "../protocol/records-file.js";
import { RECORDS_ENV } from "../protocol/stage-record.js";
import type { StageIO } from "../stage/stage-io.js";
import type { StageOptions } from "../types.js";
import { argvSecrets, redactArgv } from "../values/redaction.js";
import { requireCommand, UsageError } from "./args.js";
import type { CliStream, Command } from "./command.js";
import { childEnvWithTraceparent, exitCodeOf, killGraceMs, runChild } from "./child-process.js";
import { dieBy } from "../process-exit.js";
import { ResourceMonitor } from "./child-resources.js";

/** The records file of the stage protocol, in the stage directory while the command runs. */
const RECORDS_FILE = ".stagetrace-records.jsonl";

/** Signals that mean the command was stopped rather than that it crashed. */
const STOP_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGPIPE"]);

/**
 * Copies the command's output to ours byte for byte (only the logged copy is
 * decoded, characters split across chunks included), with backpressure: a
 * slow reader of our output slows the command instead of filling memory. When
 * our reader goes away (EPIPE), `readerGone` ends the command as the closed
 * pipe would have without exec. Our stream is asked for at the first chunk:
 * a command that writes nothing costs no process.stdout or process.stderr.
 */
function passThrough(from: Readable, output: () => CliStream, lines: CommandOutputLogger, readerGone: () => void): void {
  const decoder = new StringDecoder("utf8");
  let open = true;
  let to: CliStream | undefined;
  const target = (): CliStream => {
    if (to) return to;
    to = output();
    to.on("error", () => {
      if (!open) return;
      open = false;
      readerGone();
      // Keep reading (and logging) what the command wrote before it died.
      from.resume();
    });
    return to;
  };
  from.on("data", (chunk: Buffer) => {
    lines.write(decoder.write(chunk));
    if (!open) return;
    const out = target();
    if (!out.write(chunk)) {
      from.pause();
      out.once("drain", () => from.resume());
    }
  });
  from.on("end", () => lines.write(decoder.end()));
}

/**
 * `PATH[:TYPE]`. A path may hold colons itself (`/data/a:b.txt`): the value
 * is taken whole when it exists as it is, or when what follows its last
 * colon has a dot (a file name, not a type) and what precedes it does not
 * exist. `/data/a:b.txt:text` is always that path with type `text`.
 */
function splitTyped(value: string, defaultType: string): { path: string; type: string } {
  const m = /^(.+):([A-Za-z][\w.-]*)$/.exec(value);
  if (!m) return { path: value, type: defaultType };
  const [, path, type] = m as unknown as [string, string, string];
  if (!isUri(value) && existsSync(value)) return { path: value, type: defaultType };
  if (type.includes(".") && !isUri(path) && !existsSync(path)) return { path: value, type: defaultType };
  return { path, type };
}

/** A local path made absolute (from the current directory, or `base` when given); a URI as it is. */
function located(path: string, base?: (p: string) => string): string {
  if (isUri(path) || isAbsolute(path)) return path;
  return base ? base(path) : resolve(path);
}

function typedValue(value: string): string | number | boolean {
  if (/^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(value)) return Number(value);
  if (value === "true" || value === "false") return value === "true";
  return value;
}

/** What exec does with its stage, in-process (StageIO) or as a client of the run's agent (AgentStage). */
type ExecIO = RecordTarget &
  Pick<
    StageIO,
    | "stageName"
    | "outputBase"
    | "pipelineLogPath"
    | "stages"
    | "getOutputPath"
    | "filesFingerprinted"
    | "recordCommandResources"
    | "finalize"
  >;

interface ExecStage {
  io: ExecIO;
  log: LineLogger;
  /** This process's environment for the command: the stage span its parent, `vars` on top. */
  childEnv(vars: Record<string, string>): NodeJS.ProcessEnv;
  /** How the command ended: the span's `process.exit_code` and `process.signal`. */
  commandEnded(code: number, signal: NodeJS.Signals | null): void;
  shutdown(): Promise<void>;
}

/**
 * Whether exec's stage can go to the run's agent: there is one (and exec is
 * not inside another exec), the command's `TRACEPARENT` alone carries its
 * context (no `TRACESTATE` or `BAGGAGE` for the propagators to rewrite, and
 * `tracecontext` propagated), and no local input is declared, whose hash
 * exec must have before the command runs (the agent hashes what it is sent
 * while the command runs).
 */
function handOver(env: NodeJS.ProcessEnv, inputs: readonly { path: string }[]): boolean {
  if (agentSpool(env) === null || env.TRACESTATE?.trim() || env.BAGGAGE?.trim()) return false;
  if (!resolvePropagators(env, () => {}).includes("tracecontext")) return false;
  return inputs.every((i) => isUri(i.path));
}

/**
 * Exec's stage: handed to the run's agent when it can be, so exec loads
 * neither the OpenTelemetry SDK nor pino (docs/architecture.md); else
 * in-process, under telemetry of its own.
 */
async function openStage(name: string, options: StageOptions, argv: string[], env: NodeJS.ProcessEnv, agent: boolean): Promise<ExecStage> {
  if (agent) {
    const { AgentStage } = await import("../agent/agent-client.js");
    const io = AgentStage.hosted(name, options, { argv, handleSignals: false, stderrTty: isatty(2) });
    if (io !== null) {
      return {
        io,
        log: io.recordLogger(),
        childEnv: (vars) => childEnvWithTraceparent(io.traceparent, vars, env),
        commandEnded: (code, signal) => io.setCommandExit(code, signal),
        shutdown: () => Promise.resolve(),
      };
    }
  }
  // Under the run's agent, the stages before this one may not all be written yet: its lines come after theirs.
  const spool = agentSpool(env);
  const [sdk] = await Promise.all([
    import("./exec-sdk.js"),
    spool === null ? undefined : import("../agent/agent-catch-up.js").then((m) => m.agentCaughtUp(spool)),
  ]);
  // This process forwards signals to the command and finalizes the stage itself.
  sdk.initTelemetry({ handleSignals: false });
  const io = new sdk.StageIO(name, options);
  io.recordCommandLine(argv);
  return {
    io,
    log: io.getStageLogger(),
    childEnv: (vars) => sdk.childEnv(io.span, vars, env),
    commandEnded: (code, signal) => {
      io.span.setAttribute(ATTR.processExitCode, code);
      if (signal) io.span.setAttribute(ATTR.processSignal, signal);
    },
    shutdown: async () => {
      await sdk.shutdownTelemetry();
    },
  };
}

export const command: Command = {
  async main(parsed, cli) {
    const argv = requireCommand(parsed);
    const stage = parsed.strings.get("stage");
    if (!stage) throw new UsageError("--stage NAME is required");
    let stageNumber: number | undefined;
    const numberText = parsed.strings.get("number");
    if (numberText !== undefined) {
      if (!/^\d+$/.test(numberText)) throw new UsageError(`--number must be a whole number >= 0, got ${JSON.stringify(numberText)}`);
      stageNumber = Number(numberText);
    }
    const config: Record<string, unknown> = {};
    for (const kv of parsed.lists.get("config") ?? []) {
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new UsageError(`--config expects KEY=VALUE, got ${JSON.stringify(kv)}`);
      config[kv.slice(0, eq)] = typedValue(kv.slice(eq + 1));
    }

    const inputs = (parsed.lists.get("input") ?? []).map((spec) => splitTyped(spec, "file"));

    // What is recorded and logged of the command line: with its secrets censored.
    const shownArgv = redactArgv(argv);
    const stageOptions = stageNumber === undefined ? {} : { stageNumber };
    const exec = await openStage(stage, stageOptions, shownArgv, cli.env, handOver(cli.env, inputs));
    const { io, log } = exec;
    // A command that echoes its arguments must not put them in clear into the logs either.
    for (const secret of argvSecrets(argv)) io.rememberSecret(secret);
    if (Object.keys(config).length > 0) io.setConfig(config);
    for (const { path, type } of inputs) io.trackInput(located(path), type);
    const outputs = (parsed.lists.get("output") ?? []).map((spec) => {
      const { path, type } = splitTyped(spec, "file");
      return { path: located(path, (p) => io.getOutputPath(p)), type };
    });
    const intermediates = (parsed.lists.get("intermediate") ?? []).map((p) => located(p, (q) => io.getOutputPath(q)));
    // The docs promise inputs as they were before the command ran: wait for every hash, large files included.
    await io.filesFingerprinted();

    // The command sees the stage span as its parent, plus where its stage lives.
    const env = exec.childEnv({
      STAGE_DIR: io.stageDir,
      STAGETRACE_STAGE_DIR: io.stageDir,
      STAGETRACE_STAGE: io.stageName,
      OUTPUT_DIR: io.outputBase,
      STAGETRACE_RUN_DIR: io.outputBase,
      STAGETRACE_PIPELINE_LOG: io.pipelineLogPath,
      // The stage list, wherever it came from (the run state included): the command finds other stages' directories by it.
      ...(io.stages ? { STAGETRACE_STAGES: io.stages.join(",") } : {}),
    });

    // The stage protocol (docs/protocol.md): what the command reports about itself.
    const sink = new RecordSink(io, log, (line) => cli.stderr.write(line));
    let records: RecordsFile | undefined;
    try {
      records = new RecordsFile(
        join(io.stageDir, RECORDS_FILE),
        (line) => sink.line(line),
        (problem) => sink.problem(problem),
      );
      env[RECORDS_ENV] = records.path;
      records.start();
    } catch (e) {
      io.addWarning(`stage protocol: cannot create the records file (${(e as Error).message}); the command cannot report records`);
    }

    log.info({ command: shownArgv }, `running ${shownArgv.join(" ")}`);
    const failure = new OutputFailure();
    const out = new CommandOutputLogger(log, "stdout", failure);
    const err = new CommandOutputLogger(log, "stderr", failure);
    let monitor: ResourceMonitor | undefined;
    const outcome = await runChild(argv, {
      env,
      graceMs: killGraceMs(cli.env, (m) => cli.stderr.write(`stagetrace exec: ${m}\n`)),
      stdio: ["inherit", "pipe", "pipe"],
      // Killed itself (even by SIGKILL), exec takes its command with it.
      watchdog: true,
      started: (child) => {
        monitor = new ResourceMonitor(child.pid);
        // Without exec, a command whose reader went away dies of SIGPIPE at its next write.
        const readerGone = () => child.kill("SIGPIPE");
        passThrough(child.stdout!, () => cli.stdout, out, readerGone);
        passThrough(child.stderr!, () => cli.stderr, err, readerGone);
      },
      onSignal: (signal) => log.warn({ signal }, `received ${signal}; forwarding it to the command`),
    });
    out.end();
    err.end();
    // Records written just before the command ended are in the file: read them all.
    if (records) {
      records.close();
      try {
        removeFile(records.path);
      } catch {
        // a leftover records file does no harm
      }
    }
    sink.end();
    io.recordCommandResources({ ...monitor!.stop() });

    const exitCode = exitCodeOf(outcome);
    let status: "success" | "failed" | "skipped" | "interrupted";
    let reason: string | undefined;
    if (outcome.spawnError) {
      status = "failed";
      reason = `cannot run ${argv[0]}: ${outcome.spawnError.code ?? "error"} (${outcome.spawnError.message})`;
      io.addError(reason, outcome.spawnError);
      cli.stderr.write(`stagetrace exec: ${reason}\n`);
    } else if (outcome.signal) {
      // Stopped by someone (a person, a scheduler, a closed pipe) is interrupted; a crash,
      // or a SIGKILL nobody here sent (the OOM killer, most often), is a failure.
      const stopped = outcome.forwarded !== null || STOP_SIGNALS.has(outcome.signal);
      status = stopped ? "interrupted" : "failed";
      reason = stopped ? `command killed by ${outcome.signal}` : `command crashed: killed by ${outcome.signal}`;
      if (!stopped) io.addError(reason);
    } else {
      status = exitCode === 0 ? "success" : outcome.forwarded ? "interrupted" : "failed";
      if (status === "failed") reason = `command exited with code ${exitCode}`;
      if (status === "interrupted") reason = `${outcome.forwarded} forwarded to the command; it exited with code ${exitCode}`;
    }
    // What the command said of itself comes first; an exit code that says failed still wins over a reported success.
    const reported = sink.reported;
    const canReport = !outcome.spawnError && status !== "interrupted";
    if (canReport && reported && (reported.status !== "success" || status === "success")) {
      status = reported.status;
      reason = reported.reason ?? (status === "failed" ? (sink.lastErrorLog ?? failure.reason() ?? reason) : undefined);
    } else if (canReport && status === "failed") {
      // A command that knows nothing of stagetrace: its traceback or last ERROR line says why it failed.
      const said = sink.lastErrorLog ?? failure.reason();
      if (said !== undefined) reason = `${said} (${reason})`;
    }
    if (status === "failed" && sink.errors === 0 && failure.exception) {
      const x = failure.exception;
      const e = new Error(x.message);
      e.name = x.type;
      e.stack = x.stack;
      io.addError(x.message === "" ? x.type : `${x.type}: ${x.message}`, e);
    }
    exec.commandEnded(exitCode, outcome.signal);

    const missing: string[] = [];
    for (const o of outputs) {
      if (!isUri(o.path) && !existsSync(o.path)) missing.push(o.path);
      io.trackOutput(o.path, o.type);
    }
    for (const p of intermediates) io.trackIntermediate(p, { retained: isUri(p) || existsSync(p), reason: "declared with --intermediate" });
    let outputMissing = false;
    if (status === "success" && missing.length > 0) {
      status = "failed";
      outputMissing = true;
      reason = `declared output${missing.length > 1 ? "s" : ""} not written: ${missing.join(", ")}`;
      io.addError(reason);
      cli.stderr.write(`stagetrace exec: stage ${stage} failed: ${reason}\n`);
    }

    try {
      await io.finalize(status, reason === undefined ? {} : { reason });
    } catch (e) {
      cli.stderr.write(`stagetrace exec: could not finalize stage ${stage}: ${(e as Error).message}\n`);
    }
    try {
      await exec.shutdown();
    } catch (e) {
      cli.stderr.write(`stagetrace exec: telemetry shutdown failed: ${(e as Error).message}\n`);
    }
    // Die as the command died, so the calling shell stops as it would without exec.
    // A command that needed SIGKILL after a forwarded signal ends us by the signal we were sent.
    if (outcome.signal) dieBy(outcome.forwarded && outcome.signal === "SIGKILL" ? outcome.forwarded : outcome.signal);
    // A missing declared output fails the stage, and the exit code says so too.
    return outputMissing && exitCode === 0 ? 1 : exitCode;
  },
};
