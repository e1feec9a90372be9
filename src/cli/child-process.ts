import { context, trace, type Span } from "@opentelemetry/api";
import { EnvironmentSetter } from "@opentelemetry/propagator-env-carrier";
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { signalExitCode } from "../process-exit.js";
import { contextFromEnv, envPropagator } from "../telemetry/telemetry.js";

/** How a command run by `stagetrace run` or `exec` ended. */
export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started at all. */
  spawnError: NodeJS.ErrnoException | null;
  /** The last SIGINT/SIGTERM this process forwarded to the command, if any. */
  forwarded: NodeJS.Signals | null;
}

/**
 * This process's environment for a child, with `span` as the child's parent
 * (TRACEPARENT/TRACESTATE/BAGGAGE through the W3C env carrier; the inherited
 * TRACEPARENT is replaced, the inherited BAGGAGE passed on) and `vars` on top.
 */
export function childEnv(span: Span, vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The baggage this process was given travels on to its child.
  const inherited = contextFromEnv(context.active());
  delete env.TRACEPARENT;
  delete env.TRACESTATE;
  delete env.BAGGAGE;
  const carrier: Record<string, string> = {};
  envPropagator.inject(trace.setSpan(inherited, span), undefined, new EnvironmentSetter(carrier));
  return Object.assign(env, carrier, vars);
}

/**
 * Runs `argv` to its end, forwarding SIGINT and SIGTERM to it meanwhile.
 * `started` sees the child as soon as it is spawned (to read its output);
 * `onSignal` hears of each forwarded signal.
 */
export function runChild(
  argv: readonly string[],
  options: { env: NodeJS.ProcessEnv; stdio: StdioOptions; started?: (child: ChildProcess) => void; onSignal?: (signal: NodeJS.Signals) => void },
): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: options.env, stdio: options.stdio });
    options.started?.(child);
    let forwarded: NodeJS.Signals | null = null;
    const forward = (signal: NodeJS.Signals) => {
      forwarded = signal;
      options.onSignal?.(signal);
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    let spawnError: NodeJS.ErrnoException | null = null;
    child.on("error", (e) => (spawnError = e));
    child.on("close", (code, signal) => {
      process.removeListener("SIGINT", forward);
      process.removeListener("SIGTERM", forward);
      resolve({ code, signal, spawnError, forwarded });
    });
  });
}

/** The exit code to pass on: the command's; 128 + signal; 126 (not executable) or 127 (not found) when it never started. */
export function exitCodeOf(outcome: ChildOutcome): number {
  if (outcome.spawnError) return outcome.spawnError.code === "EACCES" ? 126 : 127;
  if (outcome.signal) return signalExitCode(outcome.signal);
  return outcome.code ?? 1;
}
