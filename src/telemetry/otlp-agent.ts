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
import { unrefSockets } from "../package-internals.js";
import type { TlsFiles } from "../config/telemetry-config.js";

/** The PEM contents of `files`; a file that cannot be read warns, naming it, and is left out. */
export function readTlsFiles(files: TlsFiles, warn: (m: string) => void): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const k of ["ca", "cert", "key"] as const) {
    const path = files[k];
    if (!path) continue;
    try {
      out[k] = readFileSync(resolve(path));
    } catch (err) {
      warn(
        `cannot read the OTLP TLS file ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); exporting without it`,
      );
    }
  }
  return out;
}

/** An agent factory for the OTLP exporters' `httpAgentOptions`: unreferenced sockets, no keep-alive, the signal's TLS files. */
export function otlpAgentFactory(files: TlsFiles, warn: (m: string) => void): (protocol: string) => Agent {
  const tls = readTlsFiles(files, warn);
  return (protocol: string): Agent => {
    // No keep-alive: Node references a pooled socket again when it reuses it.
    return unrefSockets(protocol === "https:" ? new HttpsAgent({ keepAlive: false, ...tls }) : new HttpAgent({ keepAlive: false }));
  };
}

/** OTLP headers as the gRPC exporters take them (loads @grpc/grpc-js, which only they use). */
export async function grpcMetadata(headers: Record<string, string>): Promise<import("@grpc/grpc-js").Metadata> {
  const { Metadata } = await import("@grpc/grpc-js");
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return metadata;
}

/** The endpoint a gRPC exporter takes: scheme, host and port, without the OTLP/HTTP path. */
export function grpcEndpoint(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}
