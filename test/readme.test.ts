// The README's code must work as written: every TypeScript block is
// type-checked against the built package, and the quick start is run.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { assertValidManifest } from "./support/schema.js";
import { readJson, tempDir } from "./support/tmp.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const blocks = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
// Inside the repo, so that `import "stagetrace"` resolves to this package.
const scratch = mkdtempSync(join(ROOT, ".readme-check-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("README", () => {
  it("has TypeScript blocks that type-check against the package", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    const files = blocks.map((code, i) => {
      const file = join(scratch, `block${i}.ts`);
      writeFileSync(file, code.includes("import") ? code : `export {};\n${code}`);
      return file;
    });
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const args = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node", ...files];
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, ...args], { cwd: ROOT, encoding: "utf8" });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(output).toBe("");
  });

  it("quick start runs as a stage and leaves a manifest, a stage.log and a pipeline log", () => {
    const run = tempDir();
    mkdirSync(join(run, "01_demux"));
    writeFileSync(join(run, "01_demux", "audio.wav"), "RIFF....WAVE");
    const script = join(scratch, "asr.mjs");
    writeFileSync(script, blocks[0]!);
    const r = spawnSync(process.execPath, [script], {
      env: { PATH: process.env.PATH ?? "", OUTPUT_DIR: run, STAGETRACE_STAGES: "demux,asr", API_KEY: "k-123456789" },
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    const m = readJson(join(run, "02_asr", "manifest.json"));
    assertValidManifest(m);
    expect(m).toMatchObject({ status: "success", config: { model: "large-v2", apiKey: "[REDACTED]" } });
    expect(m.inputs[0]).toMatchObject({ from_stage: "demux", exists: true, metadata: { format: "wav", sampleRate: 48000 } });
    expect(readFileSync(join(run, "02_asr", "stage.log"), "utf8")).toContain("transcribing");
  });
});
