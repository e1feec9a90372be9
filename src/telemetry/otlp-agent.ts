/**
 * The HTTP(S) agent of stagetrace's OTLP/HTTP exporters. Two things the
 * exporters' own agent does not give: sockets that never keep the process
 * alive (the exit bound is kept by shutdown's deadline, so an export may
 * use the whole timeout the user set), and the TLS files of
 * `OTEL_EXPORTER_OTLP_[<SIGNAL>_]CERTIFICATE`, `..._CLIENT_CERTIFICATE` and
 * `..._CLIENT_KEY`, which an exporter given its own agent would not read.
 */
import { readFileSync } from "node:fs";
import { Agent as HttpAgent, type Agent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { resolve } from "node:path";
import type { TlsFiles } from "./telemetry-config.js";

/** The PEM contents of `files`; a file that cannot be read warns, naming it, and is left out. */
export function readTlsFiles(files: TlsFiles, warn: (m: string) => void): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const k of ["ca", "cert", "key"] as const) {
    const path = files[k];
    if (!path) continue;
    try {
      out[k] = readFileSync(resolve(path));
    } catch (err) {
      warn(`cannot read the OTLP TLS file ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); exporting without it`);
    }
  }
  return out;
}

/** An agent factory for the OTLP exporters' `httpAgentOptions`: unreferenced sockets, no keep-alive, the signal's TLS files. */
export function otlpAgentFactory(files: TlsFiles, warn: (m: string) => void): (protocol: string) => Agent {
  const tls = readTlsFiles(files, warn);
  return (protocol: string): Agent => {
    // No keep-alive: Node references a pooled socket again when it reuses it.
    const agent = protocol === "https:" ? new HttpsAgent({ keepAlive: false, ...tls }) : new HttpAgent({ keepAlive: false });
    const create = agent.createConnection.bind(agent) as (...args: unknown[]) => { unref?: () => void } | undefined;
    (agent as unknown as { createConnection: (...args: unknown[]) => unknown }).createConnection = (...args: unknown[]) => {
      const socket = create(...args);
      socket?.unref?.();
      return socket;
    };
    return agent;
  };
}
