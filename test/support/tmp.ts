import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const created: string[] = [];

export function tempDir(prefix = "stagetrace-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Every temp directory this test file created (see validate-manifests.ts). */
export function createdTempDirs(): readonly string[] {
  return created;
}

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/** Every line of a JSON-lines log file, parsed (a line that does not parse fails the test). */
export function readLogLines(path: string): any[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

/** The pipeline log of a run: the one `99_pipeline_*.log` in `<run>/logs`. */
export function pipelineLogOf(runDir: string): string {
  const logs = readdirSync(join(runDir, "logs")).filter((f) => /^99_pipeline_.*\.log$/.test(f));
  if (logs.length !== 1) throw new Error(`expected one pipeline log in ${runDir}/logs, found ${JSON.stringify(logs)}`);
  return join(runDir, "logs", logs[0]!);
}

/** All regular files under `dir`, recursively (a dangling symlink or a FIFO is not one). */
export function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile() === true);
}
