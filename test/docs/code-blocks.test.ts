// The code in README.md and docs/**/*.md must work as written:
// - every TypeScript block type-checks against the built package;
// - the README's quick start runs as a stage;
// - every shell block (sh, bash, shell, console) that runs stagetrace (or
//   `npx stagetrace`, `npm run demo`) is run here, in a temp directory with
//   the built CLI on PATH, unless its first line says why it is not:
//   `# Not run by the tests as written: <reason>`, or, hidden from a reader,
//   the line before its fence is `<!-- Not run by the tests as written: <reason> -->`.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { assertValidManifest } from "../support/schema.js";
import { readJson, tempDir } from "../support/tmp.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface CodeBlock {
  /** The doc, relative to the repository root. */
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  /** The reason of a hidden `<!-- Not run by the tests as written: ... -->` marker on the line before the fence. */
  hiddenReason?: string;
}

const SHELL = new Set(["sh", "bash", "shell", "console"]);
const MENTIONS_STAGETRACE = /\bstagetrace\b|\bnpm run demo\b/;
const NOT_RUN = /^# Not run by the tests as written: \S/;
const HIDDEN_NOT_RUN = /^<!-- Not run by the tests as written: (\S.*\S) -->$/;

/** The fenced code blocks of a Markdown text. */
export function codeBlocks(doc: string, text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.startsWith(fence)) body.push(lines[j++]!);
    const hidden = i > 0 ? HIDDEN_NOT_RUN.exec(lines[i - 1]!) : null;
    const block: CodeBlock = { doc, line: i + 1, lang: open[2]!.toLowerCase(), code: body.join("\n") + "\n" };
    if (hidden) block.hiddenReason = hidden[1]!;
    blocks.push(block);
    i = j;
  }
  return blocks;
}

/** How the suite treats a shell block: run it, or skip it for the reason its first line gives. */
export function shellBlockPlan(block: CodeBlock): "run" | "marked" | "ignored" {
  if (!SHELL.has(block.lang) || !MENTIONS_STAGETRACE.test(block.code)) return "ignored";
  return block.hiddenReason !== undefined || NOT_RUN.test(block.code.split("\n")[0]!) ? "marked" : "run";
}

/** A `console` block's commands: the `$ ` lines without the prompt; other blocks as they are. */
function shellScript(block: CodeBlock): string {
  if (block.lang !== "console") return block.code;
  return block.code
    .split("\n")
    .filter((l) => l.startsWith("$ "))
    .map((l) => l.slice(2))
    .join("\n");
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md") && !f.split("/").includes("api"))
    .map((f) => join("docs", f))
    .sort();
  return ["README.md", ...docs];
}

const DOCS = markdownFiles();
const BLOCKS = DOCS.flatMap((doc) => codeBlocks(doc, readFileSync(join(ROOT, doc), "utf8")));
const TS_BLOCKS = BLOCKS.filter((b) => b.lang === "ts" || b.lang === "typescript");

// Inside the repository, so that `import "stagetrace"` resolves to this package.
const scratch = mkdtempSync(join(ROOT, ".readme-check-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function blockFileName(b: CodeBlock): string {
  return `${b.doc.replace(/[^\w]+/g, "_")}_L${b.line}.ts`;
}

describe("code blocks in README.md and docs/", () => {
  it("finds the docs and their blocks", () => {
    expect(DOCS).toEqual(expect.arrayContaining(["README.md", "docs/stage-guide.md", "docs/troubleshooting.md"]));
    expect(TS_BLOCKS.filter((b) => b.doc === "README.md").length).toBeGreaterThanOrEqual(1);
    expect(TS_BLOCKS.filter((b) => b.doc === "docs/stage-guide.md").length).toBeGreaterThanOrEqual(4);
  });

  it("every TypeScript block type-checks against the package", () => {
    const files = TS_BLOCKS.map((b) => {
      const file = join(scratch, blockFileName(b));
      // A block without imports is a script; `export {}` makes it a module like the others.
      writeFileSync(file, /^\s*(import|export)\s/m.test(b.code) ? b.code : `export {};\n${b.code}`);
      return file;
    });
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const args = [
      "--noEmit",
      "--strict",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--target",
      "es2022",
      "--skipLibCheck",
      "--types",
      "node",
      ...files,
    ];
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, ...args], { cwd: ROOT, encoding: "utf8" });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    // Name the doc and line of each failing block.
    for (const b of TS_BLOCKS)
      output = output.replaceAll(relative(ROOT, join(scratch, blockFileName(b))), `${b.doc} (block at line ${b.line})`);
    expect(output).toBe("");
  });

  it("the README's quick start runs as a stage: manifest, stage.log and pipeline log", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const start = readme.search(/^## Quick start/m);
    expect(start, "README.md has a Quick start section").toBeGreaterThanOrEqual(0);
    const quick = TS_BLOCKS.find((b) => b.doc === "README.md" && readme.split("\n").slice(0, b.line).join("\n").length >= start);
    expect(quick, "the Quick start section has a TypeScript block").toBeDefined();

    const run = tempDir();
    mkdirSync(join(run, "01_demux"));
    writeFileSync(join(run, "01_demux", "audio.wav"), "RIFF....WAVE");
    const script = join(scratch, "asr.mjs");
    writeFileSync(script, quick!.code);
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
    const logs = readdirSync(join(run, "logs"));
    expect(logs.some((f) => /^99_pipeline_.*\.log$/.test(f))).toBe(true);
  });

  it("classifies shell blocks: unmarked blocks that run stagetrace are run", () => {
    const doc = [
      "```sh",
      "npx stagetrace show out/run",
      "```",
      "```sh",
      "# Not run by the tests as written: needs your own script.",
      "stagetrace exec --stage x -- sh mine.sh",
      "```",
      "```console",
      "$ npm run demo",
      "```",
      "<!-- Not run by the tests as written: hidden from the reader. -->",
      "```sh",
      "npm run demo",
      "```",
      "```sh",
      "ls -l",
      "```",
    ].join("\n");
    expect(codeBlocks("x.md", doc).map(shellBlockPlan)).toEqual(["run", "marked", "run", "marked", "ignored"]);
    // Every marked block in the docs gives a reason.
    for (const b of BLOCKS.filter((b) => shellBlockPlan(b) === "marked" && b.hiddenReason === undefined)) {
      expect(b.code.split("\n")[0]!.length, `${b.doc}:${b.line}`).toBeGreaterThan("# Not run by the tests as written: ".length + 5);
    }
  });

  // One temp directory per doc: its blocks run in order, so a later block can
  // look at what an earlier one left (as a reader following the page would).
  const runnable = DOCS.map((doc) => ({ doc, blocks: BLOCKS.filter((b) => b.doc === doc && shellBlockPlan(b) === "run") })).filter(
    (d) => d.blocks.length > 0,
  );

  it("has shell blocks that run stagetrace", () => {
    expect(runnable.map((d) => d.doc)).toEqual(expect.arrayContaining(["docs/stage-guide.md", "docs/troubleshooting.md"]));
  });

  for (const { doc, blocks } of runnable) {
    it(`${doc}: its stagetrace shell blocks run as written`, { timeout: 60_000 }, () => {
      const dir = tempDir("stagetrace-docs-");
      const bin = join(dir, ".bin");
      const work = join(dir, "work");
      mkdirSync(bin);
      mkdirSync(work);
      // The reader's checkout: the built package and the example sources.
      for (const name of ["dist", "examples", "schema"]) symlinkSync(join(ROOT, name), join(work, name));
      const cli = join(ROOT, "bin", "stagetrace");
      writeFileSync(join(bin, "stagetrace"), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`);
      writeFileSync(
        join(bin, "npx"),
        `#!/bin/sh\n[ "$1" = stagetrace ] || { echo "npx: only 'npx stagetrace' is available to the docs tests" >&2; exit 127; }\nshift\nexec stagetrace "$@"\n`,
      );
      writeFileSync(join(bin, "node"), `#!/bin/sh\nexec "${process.execPath}" "$@"\n`);
      for (const f of ["stagetrace", "npx", "node"]) chmodSync(join(bin, f), 0o755);
      const env: Record<string, string> = {
        PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
        HOME: dir,
        NO_COLOR: "1",
      };
      for (const b of blocks) {
        const r = spawnSync("bash", ["--norc", "--noprofile", "-euo", "pipefail", "-c", shellScript(b)], {
          cwd: work,
          env,
          encoding: "utf8",
          timeout: 45_000,
        });
        expect(r.status, `${b.doc}, block at line ${b.line} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`).toBe(0);
      }
    });
  }
});
