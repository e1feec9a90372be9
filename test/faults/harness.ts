// Runs fault-suite fixtures as real processes and lets a test act on what
// they print (one event per stdout line), never on sleeps.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const FAULT_FIXTURE = fileURLToPath(new URL("../fixtures/fault-stage.mjs", import.meta.url));

export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** When the process ended (epoch ms). */
  endedAt: number;
}

export interface StageProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `pattern` (rejects if the process ends first). */
  line(pattern: RegExp): Promise<string>;
  /** Resolves when the process has ended. */
  readonly done: Promise<Finished>;
}

/** Starts a fixture with a clean environment plus `env`. */
export function start(env: Record<string, string>, script = FAULT_FIXTURE, args: string[] = []): StageProcess {
  const base: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };
  const child = spawn(process.execPath, [script, ...args], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const waiters = new Set<{ pattern: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }>();
  const check = () => {
    for (const w of waiters) {
      const hit = out.split("\n").find((l, i, all) => i < all.length - 1 && w.pattern.test(l));
      if (hit !== undefined) {
        waiters.delete(w);
        w.resolve(hit);
      }
    }
  };
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d: string) => {
    out += d;
    check();
  });
  child.stderr.on("data", (d: string) => (err += d));
  const done = new Promise<Finished>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      check();
      for (const w of waiters)
        w.reject(new Error(`process ended (code ${code}, signal ${signal}) before ${w.pattern}\nstdout:\n${out}\nstderr:\n${err}`));
      waiters.clear();
      resolve({ code, signal, stdout: out, stderr: err, endedAt: Date.now() });
    });
  });
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    line(pattern) {
      return new Promise((resolve, reject) => {
        waiters.add({ pattern, resolve, reject });
        check();
      });
    },
    done,
  };
}

/** Runs a fixture to its end. */
export function run(env: Record<string, string>, script = FAULT_FIXTURE, args: string[] = []): Promise<Finished> {
  return start(env, script, args).done;
}

/** A loopback URL with nothing listening: connections are refused. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
