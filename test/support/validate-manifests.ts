// Runs after every test file: each manifest.json and pipeline.json that file's
// tests wrote, anywhere in their temp directories, must be valid against the
// shipped schemas. The temp directories are removed afterwards (a scale test
// leaves hundreds of megabytes), unless a manifest was invalid: then they are
// kept for a look at what the problems name.
import { existsSync, rmSync } from "node:fs";
import { basename } from "node:path";
import { afterAll, expect } from "vitest";
import { validateAgainstSchema } from "../../src/schema/validate.js";
import { validateManifest } from "./schema.js";
import { allFiles, createdTempDirs, readJson } from "./tmp.js";

afterAll(() => {
  const problems: string[] = [];
  for (const dir of createdTempDirs()) {
    if (!existsSync(dir)) continue;
    for (const file of allFiles(dir)) {
      if (basename(file) === "manifest.json") {
        for (const p of validateManifest(readJson(file))) problems.push(`${file}: ${p}`);
      } else if (basename(file) === "pipeline.json") {
        for (const p of validateAgainstSchema("pipeline", readJson(file))) problems.push(`${file}: ${p.path}: ${p.message}`);
      }
    }
  }
  expect(problems).toEqual([]);
  for (const dir of createdTempDirs()) rmSync(dir, { recursive: true, force: true });
  // Walking and removing a scale test's directories (hundreds of thousands of files) takes over 30 s on a loaded machine.
}, 300_000);
