import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const FIXTURE = fileURLToPath(new URL("../fixtures/stage.mjs", import.meta.url));

export interface StageProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from the fixture's "done" line (its stage finished) to process exit. */
  exitAfterDoneMs: number | null;
}

/** Runs a stage script as its own process (with `node`, by default this one) with only the given OTel/stagetrace env on top of a clean one. */
export function spawnStage(env: Record<string, string>, script = FIXTURE, node = process.execPath): Promise<StageProcessResult> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };
  return new Promise((resolve, reject) => {
    const child = spawn(node, [script], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let doneAt: number | null = null;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (doneAt === null && stdout.includes("FIXTURE_DONE")) doneAt = Date.now();
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout, stderr, exitAfterDoneMs: doneAt === null ? null : Date.now() - doneAt }),
    );
  });
}
