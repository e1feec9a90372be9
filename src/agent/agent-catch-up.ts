import { closeSync, constants as fsConstants, openSync, readdirSync, readSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { pidAlive } from "../run/load-run.js";
import { readPipeline } from "../run/pipeline-update.js";
import { spoolFilePid, writtenMark } from "./agent-env.js";

/** How long a stage that runs in-process under the run's agent waits for the agent to catch up, at most. */
export const CATCH_UP_MS = 5000;
const CATCH_UP_POLL_MS = 10;
/** How much of a spool file is read for its `begin` record's host; a longer begin counts as this host's. */
const BEGIN_READ_BYTES = 256 * 1024;

/** The host named by the `begin` record a spool file starts with, or undefined when it cannot be read (yet). */
function beginHost(path: string): string | undefined {
  const buffer = Buffer.alloc(BEGIN_READ_BYTES);
  let fd: number | undefined;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
    const text = buffer.toString("utf8", 0, readSync(fd, buffer, 0, buffer.length, 0));
    const end = text.indexOf("\n");
    if (end < 0) return undefined;
    const host = (JSON.parse(text.slice(0, end)) as { host?: unknown }).host;
    return typeof host === "string" ? host : hostname();
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Whether the run's agent may still be running: the `stagetrace run` that
 * wrote the run directory's pipeline.json, when that names a process on this host.
 */
function agentProcess(spool: string): () => boolean {
  const pipeline = readPipeline(dirname(spool));
  const pid: unknown = pipeline?.pid;
  // Unreadable, or the run is on another host: the bound alone ends the wait.
  return typeof pid === "number" && pipeline?.host === hostname() ? () => pidAlive(pid) : () => true;
}

/**
 * The spool files of stages on this host whose process is gone but whose
 * lines the agent has not all written yet: the agent is behind them.
 * `hosts` keeps each file's host once read: it does not change.
 */
function backlog(spool: string, hosts: Map<string, string>): string[] {
  let names: string[];
  try {
    names = readdirSync(spool);
  } catch {
    return [];
  }
  const marks = new Set(names.filter((n) => n.endsWith(".written")));
  return names.filter((name) => {
    const pid = spoolFilePid(name);
    if (pid === null || marks.has(writtenMark(name)) || pidAlive(pid)) return false;
    let host = hosts.get(name);
    if (host === undefined) {
      host = beginHost(join(spool, name));
      if (host !== undefined) hosts.set(name, host);
    }
    return host === undefined || host === hostname();
  });
}

/**
 * Resolves once the run's agent has written the stages that ended before
 * this one, so that a stage which runs in-process under the agent (exec
 * with a local `--input`, `TRACESTATE`, ...) writes its lines to the
 * pipeline log after theirs: the agent may still be loading, or slow.
 * It waits for the stages whose process is gone, not those still running
 * beside it, and at most `boundMs` (then its lines come first; nothing is
 * lost), and not at all once the agent is gone.
 */
export async function agentCaughtUp(spool: string, boundMs = CATCH_UP_MS): Promise<void> {
  const until = Date.now() + boundMs;
  const hosts = new Map<string, string>();
  let behind = backlog(spool, hosts);
  const agentAlive = behind.length > 0 ? agentProcess(spool) : () => false;
  while (behind.length > 0 && Date.now() < until && agentAlive()) {
    await new Promise((resolve) => setTimeout(resolve, CATCH_UP_POLL_MS));
    behind = backlog(spool, hosts);
  }
}
