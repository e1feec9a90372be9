import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import type { Readable } from "node:stream";
import { signalExitCode } from "../process-exit.js";
import type { Env } from "../config/env-rules.js";
import { stagetraceSettings } from "../config/stagetrace-settings.js";

// Running the command of `stagetrace run` and `exec`. No OpenTelemetry package is loaded here:
// `run` spawns its pipeline before it loads the SDK (child-env.ts has the propagation).

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
 * This process's environment for a child, as childEnv (child-env.ts) makes it, without the SDK: for a process whose environment holds no
 * `TRACESTATE` or `BAGGAGE` and propagates `tracecontext` (startWithoutSdk,
 * src/run/run-begin.ts): the carrier then holds `TRACEPARENT` alone.
 */
export function childEnvWithTraceparent(traceparent: string, vars: Record<string, string>, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  delete env.TRACEPARENT;
  delete env.TRACESTATE;
  delete env.BAGGAGE;
  return Object.assign(env, { TRACEPARENT: traceparent }, vars);
}

/**
 * After the command has exited, how long its stdout and stderr may stay
 * silent before they are closed: a background child that inherited them (a
 * daemon the command started) could hold them open forever.
 */
export const DRAIN_IDLE_MS = 200;
/** After the command has exited, the longest its output is read (time spent waiting on a slow reader of ours not counted). */
export const DRAIN_MAX_MS = 2_000;

/**
 * The watchdog that stands in for Linux's PR_SET_PDEATHSIG, which Node
 * cannot set: a shell that blocks reading a pipe from this process. When
 * this process ends normally it first writes "done"; when it is killed
 * (even by SIGKILL) the kernel closes the pipe, the read returns nothing,
 * and the watchdog sends SIGTERM to the command ($1: a pid, or -pgid for a
 * group), then SIGKILL once $2 tenths of a second have passed with it alive.
 * It ignores SIGINT, SIGTERM and SIGHUP, so a Ctrl-C that reaches its
 * process group cannot take it away before this process is gone.
 */
const WATCHDOG_SCRIPT = [
  "trap '' INT TERM HUP",
  "read -r word",
  '[ "$word" = done ] && exit 0',
  'kill -TERM "$1" 2>/dev/null || exit 0',
  "i=0",
  'while kill -0 "$1" 2>/dev/null; do',
  '  if [ "$i" -ge "$2" ]; then kill -KILL "$1" 2>/dev/null; exit 0; fi',
  "  sleep 0.1; i=$((i + 1))",
  "done",
].join("\n");

/** Starts the watchdog for `target` (a pid, or -pgid); returns how to stand it down, or null when it could not start. */
function startWatchdog(target: number, graceMs: number): (() => void) | null {
  let dog: ChildProcess;
  try {
    dog = spawn("/bin/sh", ["-c", WATCHDOG_SCRIPT, "stagetrace-watchdog", String(target), String(Math.ceil(graceMs / 100))], {
      stdio: ["pipe", "ignore", "ignore"],
    });
  } catch {
    return null;
  }
  dog.on("error", () => {}); // no /bin/sh: the command simply has no watchdog
  dog.stdin!.on("error", () => {});
  // Neither the watchdog nor its pipe keeps this process alive.
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void }).unref?.();
  return () => dog.stdin!.end("done\n");
}

/** Resolves once `streams` have ended, or have been silent for DRAIN_IDLE_MS (then they are closed). */
function drained(streams: (Readable | null | undefined)[]): Promise<void> {
  const open = streams.filter((s): s is Readable => !!s && !s.readableEnded && !s.destroyed);
  return Promise.all(
    open.map(
      (stream) =>
        new Promise<void>((resolve) => {
          let heard = false;
          let reading = 0;
          const onData = () => (heard = true);
          const finish = () => {
            clearInterval(timer);
            stream.removeListener("data", onData);
            resolve();
          };
          stream.on("data", onData);
          stream.once("end", finish);
          stream.once("close", finish);
          const timer = setInterval(() => {
            // Paused: our own reader is slow; everything the command wrote is still owed to it.
            if (stream.isPaused()) return;
            reading += DRAIN_IDLE_MS;
            if (heard && reading < DRAIN_MAX_MS) {
              heard = false;
              return;
            }
            stream.destroy();
            finish();
          }, DRAIN_IDLE_MS);
        }),
    ),
  ).then(() => undefined);
}

/** The grace period from the environment (`STAGETRACE_KILL_GRACE_MS`); a bad value warns (once, via `warn`) and falls back. */
export function killGraceMs(env: Env, warn: (m: string) => void): number {
  return stagetraceSettings(env, warn).killGraceMs();
}

/**
 * Runs `argv` to its end, forwarding SIGINT and SIGTERM to it meanwhile. A
 * command still alive `graceMs` after the first forwarded signal, or when a
 * second one arrives, gets SIGKILL. With `group`, the command leads a process
 * group of its own and every signal goes to the whole group, so a pipeline's
 * stages stop with it. `started` sees the child as soon as it is spawned (to
 * read its output); `onSignal` hears of each forwarded signal.
 *
 * It resolves when the command has exited, not when its output pipes close:
 * a background child may hold them open, so they are read until they end or
 * fall silent (DRAIN_IDLE_MS), then closed. With `watchdog`, a watchdog
 * process ends the command (or its group) if this process is killed.
 */
export function runChild(
  argv: readonly string[],
  options: {
    env: NodeJS.ProcessEnv;
    stdio: StdioOptions;
    graceMs: number;
    group?: boolean;
    watchdog?: boolean;
    started?: (child: ChildProcess) => void;
    onSignal?: (signal: NodeJS.Signals) => void;
  },
): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    // Signals are handled from before the spawn: a SIGTERM that arrives while the command is
    // starting is forwarded to it once it is there, instead of ending this process by default.
    let child: ChildProcess | undefined = undefined;
    let forwarded: NodeJS.Signals | null = null;
    let escalation: NodeJS.Timeout | undefined;
    let escalationDeadline = 0;
    const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
    const send = (signal: NodeJS.Signals) => {
      if (child?.pid === undefined || (!options.group && !alive())) return;
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
    child = spawn(argv[0]!, argv.slice(1), { env: options.env, stdio: options.stdio, detached: options.group === true });
    options.started?.(child);
    const standDown =
      options.watchdog && child.pid !== undefined ? startWatchdog(options.group ? -child.pid : child.pid, options.graceMs) : null;
    let spawnError: NodeJS.ErrnoException | null = null;
    child.on("error", (e) => (spawnError = e));
    let ended = false;
    const onEnd = async (code: number | null, signal: NodeJS.Signals | null) => {
      if (ended) return;
      ended = true;
      await drained([child.stdout, child.stderr]);
      // A stopped pipeline's shell may end before its stages have finished writing
      // their records: wait for the rest of the group, until the grace period is over.
      if (options.group && forwarded && child.pid !== undefined) await groupGone(child.pid, escalationDeadline);
      standDown?.();
      clearTimeout(escalation);
      process.removeListener("SIGINT", forward);
      process.removeListener("SIGTERM", forward);
      resolve({ code, signal, spawnError, forwarded });
    };
    child.on("exit", (code, signal) => void onEnd(code, signal));
    // A command that never started has no exit event, only close.
    child.on("close", (code, signal) => void onEnd(code, signal));
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
