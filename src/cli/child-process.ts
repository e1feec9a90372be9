import { context, trace, type Span } from "@opentelemetry/api";
import { EnvironmentSetter } from "@opentelemetry/propagator-env-carrier";
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { signalExitCode } from "../process-exit.js";
import { contextFromEnv, envPropagator } from "../telemetry/telemetry.js";
import { numberFromEnv } from "../telemetry/telemetry-config.js";

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

/** How long a command has, after the first SIGINT or SIGTERM it was sent, before it gets SIGKILL (`STAGETRACE_KILL_GRACE_MS`). */
export const DEFAULT_KILL_GRACE_MS = 10_000;

/** The grace period from the environment; a bad value warns (once, via `warn`) and falls back. */
export function killGraceMs(env: NodeJS.ProcessEnv, warn: (m: string) => void): number {
  return numberFromEnv(env, "STAGETRACE_KILL_GRACE_MS", DEFAULT_KILL_GRACE_MS, { min: 0, unit: "milliseconds" }, warn);
}

/**
 * Runs `argv` to its end, forwarding SIGINT and SIGTERM to it meanwhile. A
 * command still alive `graceMs` after the first forwarded signal, or when a
 * second one arrives, gets SIGKILL. With `group`, the command leads a process
 * group of its own and every signal goes to the whole group, so a pipeline's
 * stages stop with it. `started` sees the child as soon as it is spawned (to
 * read its output); `onSignal` hears of each forwarded signal.
 */
export function runChild(
  argv: readonly string[],
  options: {
    env: NodeJS.ProcessEnv;
    stdio: StdioOptions;
    graceMs: number;
    group?: boolean;
    started?: (child: ChildProcess) => void;
    onSignal?: (signal: NodeJS.Signals) => void;
  },
): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: options.env, stdio: options.stdio, detached: options.group === true });
    options.started?.(child);
    let forwarded: NodeJS.Signals | null = null;
    let escalation: NodeJS.Timeout | undefined;
    let escalationDeadline = 0;
    const alive = () => child.exitCode === null && child.signalCode === null;
    const send = (signal: NodeJS.Signals) => {
      if (child.pid === undefined || (!options.group && !alive())) return;
      try {
        if (options.group) process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // Already gone.
      }
    };
    const forward = (signal: NodeJS.Signals) => {
      const again = forwarded !== null;
      forwarded = signal;
      options.onSignal?.(signal);
      if (again) {
        send("SIGKILL");
        return;
      }
      send(signal);
      escalationDeadline = Date.now() + options.graceMs;
      escalation = setTimeout(() => send("SIGKILL"), options.graceMs);
    };
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    let spawnError: NodeJS.ErrnoException | null = null;
    child.on("error", (e) => (spawnError = e));
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the listener settles the outcome promise itself
    child.on("close", async (code, signal) => {
      // A stopped pipeline's shell may end before its stages have finished writing
      // their records: wait for the rest of the group, until the grace period is over.
      if (options.group && forwarded && child.pid !== undefined) await groupGone(child.pid, escalationDeadline);
      clearTimeout(escalation);
      process.removeListener("SIGINT", forward);
      process.removeListener("SIGTERM", forward);
      resolve({ code, signal, spawnError, forwarded });
    });
  });
}

/** Resolves once no process of group `pgid` is left, sending SIGKILL to what is left at `deadline` (epoch ms). */
async function groupGone(pgid: number, deadline: number): Promise<void> {
  const exists = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  while (exists()) {
    if (Date.now() >= deadline) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The exit code to pass on: the command's; 128 + signal; 126 (not executable) or 127 (not found) when it never started. */
export function exitCodeOf(outcome: ChildOutcome): number {
  if (outcome.spawnError) return outcome.spawnError.code === "EACCES" ? 126 : 127;
  if (outcome.signal) return signalExitCode(outcome.signal);
  return outcome.code ?? 1;
}
