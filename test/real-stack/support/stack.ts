// The real stack for the tests: the programs scripts/stack.mjs builds and
// starts, asked through their own HTTP APIs.
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
// @ts-expect-error: a plain ES module script without types
import * as stackScript from "../../../scripts/stack.mjs";

export interface StackEnv {
  OTEL_EXPORTER_OTLP_ENDPOINT: string;
  OTEL_EXPORTER_OTLP_GRPC_ENDPOINT: string;
  JAEGER_URL: string;
  PROMETHEUS_URL: string;
  ALERTMANAGER_URL: string;
  OTELCOL_METRICS_URL: string;
}

interface StackModule {
  up(o: { dir: string; webhookUrl?: string }): Promise<{ env: StackEnv }>;
  down(o: { dir: string; quiet?: boolean }): Promise<void>;
  build(): Record<string, string>;
}
const stack = stackScript as StackModule;

export const startStack = (dir: string, webhookUrl: string) => stack.up({ dir, webhookUrl });
export const stopStack = (dir: string) => stack.down({ dir, quiet: true });
/** Paths of the built programs (promtool, amtool, ...), building what is missing. */
export const stackPrograms = () => stack.build();

export interface WebhookAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** An HTTP server standing for the team's pager: keeps every alert Alertmanager posts. */
export async function startWebhook() {
  const alerts: WebhookAlert[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      try {
        alerts.push(...(JSON.parse(body) as { alerts: WebhookAlert[] }).alerts);
      } catch {
        // Not Alertmanager's payload; answered all the same.
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/alerts`, alerts, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function getJson<T = any>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * Polls `check` until it returns a value other than undefined. The limit only
 * keeps a broken stack from hanging the suite: the programs' own intervals
 * (scrape and evaluation 15 s, group wait 30 s, spanmetrics flush 15 s) set
 * how long the answer takes.
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, limitMs = 240_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not seen within ${limitMs / 1000} s${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The value of a Prometheus-format sample line `name{labels} value` matching every label given, summed. */
export function sumSamples(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts a process with a clean environment plus `env`. */
export function run(argv: string[], env: Record<string, string>) {
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}
