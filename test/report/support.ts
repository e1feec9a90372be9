// Helpers for the report and diff tests: runs of the fixture pipeline
// (test/fixtures/report-pipeline), and private copies of runs to tamper with.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "../support/tmp.js";

const RUNNER = fileURLToPath(new URL("../fixtures/report-pipeline/run.mjs", import.meta.url));

/** Runs the fixture pipeline into a new temp directory (its manifests are schema-checked after the file's tests). */
export function runFixture(env: Record<string, string> = {}): string {
  const dir = join(tempDir("stagetrace-report-"), "run");
  const r = spawnSync(process.execPath, [RUNNER, dir], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    encoding: "utf8",
  });
  const expected = env.FIXTURE_FAIL ? 1 : 0;
  if (r.status !== expected) throw new Error(`fixture pipeline exited with ${r.status ?? r.signal}, expected ${expected}:\n${r.stderr}`);
  return dir;
}

const copies: string[] = [];

/**
 * A copy of a run in a directory of its own, for tests that rewrite
 * manifests into states the schema does not describe (a `running` stage).
 */
export function copyRun(runDir: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), "stagetrace-report-copy-")), "run");
  copies.push(dir);
  cpSync(runDir, dir, { recursive: true });
  return dir;
}

export function removeCopies(): void {
  for (const dir of copies.splice(0)) rmSync(join(dir, ".."), { recursive: true, force: true });
}

/** Rewrites `<run>/<stageDir>/manifest.json` with `edit`. */
export function editManifest(runDir: string, stageDir: string, edit: (m: any) => void): void {
  const path = join(runDir, stageDir, "manifest.json");
  const m = JSON.parse(readFileSync(path, "utf8"));
  edit(m);
  writeFileSync(path, JSON.stringify(m, null, 2));
}
