import { spawn, type ChildProcess } from "node:child_process";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";

/** The installed `stagetrace` command (bin/stagetrace, which loads the built dist/). */
export const CLI = fileURLToPath(new URL("../../bin/stagetrace", import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Called with the child once it has started, and on each stdout chunk (to send a signal at the right moment). */
  onStdout?: (text: string, child: ChildProcess) => void;
}

/** Runs `stagetrace ARGS...` as its own process, on a clean environment plus `env`. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      options.onStdout?.(stdout, child);
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A stream that keeps what is written to it, as a terminal-less stdout or stderr would receive it. */
class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/**
 * Runs `stagetrace ARGS...` in this process through the CLI's `main()`, on a
 * clean environment plus `env` (as `runCli` does), and returns what it
 * printed. For tests of parsing, help, errors and printed output; commands
 * that run a child (`run`, `exec`) are tested as processes.
 */
export async function runCliInProcess(args: string[], options: Pick<CliOptions, "env"> = {}): Promise<CliResult> {
  const { main } = await import("../../src/cli/main.js");
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(args, { stdout, stderr, env });
  return { code, signal: null, stdout: stdout.text, stderr: stderr.text };
}
