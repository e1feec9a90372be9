import { spawn, type ChildProcess } from "node:child_process";
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
