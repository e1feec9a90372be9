// `stagetrace show`: a summary that stays short for big stages, output that
// survives a reader that goes away, nothing from a manifest that a terminal
// would run as an escape sequence, and a clear error for a path that is not
// a run. In-process through main(), except where the process is the point
// (a closed pipe, the command end to end).
import { spawn } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, runCli, runCliInProcess } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { copyRun, editManifest, removeCopies, runFixture } from "../report/support.js";
import { writeSyntheticRun } from "../report/synthetic-run.mjs";

let fixture: string;
let big: string; // two stages, 10,000 outputs each; the second reads all of the first's

beforeAll(() => {
  fixture = runFixture();
  big = join(tempDir(), "big");
  writeSyntheticRun(big, { stages: 2, files: 20_000 });
}, 60_000);
afterAll(removeCopies);

describe("stagetrace show on a big stage", () => {
  it("prints counts and the first few files, and says how many more there are", async () => {
    const r = await runCliInProcess(["show", big]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.length).toBeLessThan(20);
    expect(r.stdout).toMatch(/^ {2}01 step001 +success +\d+ ms {2}in 0 {2}out 10000$/m);
    expect(r.stdout).toMatch(/^ {2}02 step002 +success .* {2}in 10000 {2}out 10000$/m);
    expect(lines.filter((l) => l.startsWith("       out  01_step001/shards/part-"))).toHaveLength(3);
    expect(r.stdout).toContain("… 9997 more outputs");
    expect(r.stdout).toContain("… 9997 more inputs");
    expect(lines.at(-1)).toBe("(--files lists every file, warning and error)");
  });

  it("--files lists every file", async () => {
    const r = await runCliInProcess(["show", "--files", big]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.filter((l) => l.startsWith("       out  ")).length).toBe(20_000);
    expect(lines.filter((l) => l.startsWith("       in   02_step002") || l.startsWith("       in   01_step001")).length).toBe(10_000);
    expect(r.stdout).not.toContain("more outputs");
  });

  it("stops quietly, with its own exit code, when the reader closes the pipe (show | head)", async () => {
    // About 1 MB of output: far more than a pipe holds, so the write is still going when the pipe closes.
    const child = spawn(process.execPath, [CLI, "show", "--files", big], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const first = await new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString())));
    child.stdout.destroy(); // as `head -n 1` does after its line
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on("close", (c, s) => resolve([c, s])),
    );
    expect(first).toMatch(/^run directory: /);
    expect(stderr).toBe("");
    expect(signal).toBeNull();
    expect(code).toBe(0);
  });
});

describe("stagetrace show and what manifests hold", () => {
  it("prints control characters from a manifest as \\uXXXX: no escape sequence reaches the terminal", async () => {
    const run = copyRun(fixture);
    const esc = "\u001b]0;pwned\u0007\u001b[2J\u009b31m";
    editManifest(run, "03_translate", (m) => {
      m.stage = `trans${esc}late`;
      m.status = "failed";
      m.status_reason = `bad${esc}reason\nsecond line`;
      m.outputs[0].path = join(run, "03_translate", `out${esc}\nput.json`);
      m.warnings.push({ message: `warn${esc}`, timestamp: m.started_at });
      m.errors.push({ type: `Type${esc}`, message: `msg${esc}`, stack: null, timestamp: m.started_at });
    });
    const r = await runCliInProcess(["show", "--files", run]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain("03 trans\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31mlate");
    expect(r.stdout).toContain("reason: bad\\u001b]0;pwned");
    expect(r.stdout).not.toContain("second line");
    expect(r.stdout).toContain("out  03_translate/out\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m\\u000aput.json");
    expect(r.stdout).toContain("warning: warn\\u001b]0;");
    expect(r.stdout).toContain("error: Type\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m: msg\\u001b");
  });
});

describe("stagetrace show and errors", () => {
  it("prints an error whose message starts with its type (Python's) once: error: ValueError: bad input", async () => {
    const run = copyRun(fixture);
    editManifest(run, "03_translate", (m) => {
      m.status = "failed";
      m.errors.push({ type: "ValueError", message: "ValueError: bad input\nmore", stack: null, timestamp: m.started_at });
      m.errors.push({ type: "KeyError", message: "'lang'", stack: null, timestamp: m.started_at });
    });
    const r = await runCliInProcess(["show", run]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {7}error: ValueError: bad input$/m);
    expect(r.stdout).toMatch(/^ {7}error: KeyError: 'lang'$/m);
  });
});

describe("stagetrace show on something that is not a run", () => {
  it.each([
    ["a stage.log", () => join(fixture, "01_fetch", "stage.log"), /is not valid JSON/],
    [
      "a README",
      () => {
        const f = join(tempDir(), "README.md");
        writeFileSync(f, "# Hello\n");
        return f;
      },
      /is not valid JSON/,
    ],
    [
      "a JSON file that is no manifest",
      () => {
        const f = join(tempDir(), "package.json");
        writeFileSync(f, JSON.stringify({ name: "x", status: "ok" }));
        return f;
      },
      /is not a stagetrace manifest/,
    ],
    [
      "a directory without stages",
      () => {
        const d = join(tempDir(), "empty");
        mkdirSync(join(d, "sub"), { recursive: true });
        return d;
      },
      /no manifest\.json, pipeline\.json or stage directory in it/,
    ],
  ])("refuses %s with one clear line naming it (exit 2), never a failed stage", async (_what, make, why) => {
    const path = make();
    const r = await runCliInProcess(["show", path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    const first = r.stderr.split("\n")[0]!;
    expect(first.startsWith(`stagetrace show: ${path}: not a manifest.json, pipeline.json or run directory (`)).toBe(true);
    expect(first).toMatch(why);
  });

  it("takes a run's pipeline.json for its run directory", async () => {
    const dir = tempDir();
    const out = join(dir, "run");
    const r0 = await runCli([
      "run",
      "--name",
      "pj",
      "--run-dir",
      out,
      "--stages",
      "a",
      "--",
      "stagetrace",
      "exec",
      "--stage",
      "a",
      "--",
      "true",
    ]);
    expect(r0.code, r0.stderr).toBe(0);
    const byFile = await runCli(["show", join(out, "pipeline.json")]);
    const byDir = await runCliInProcess(["show", out]);
    expect(byFile.code, byFile.stderr).toBe(0);
    expect(byFile.stdout).toMatch(/^RUN pj /);
    expect(byFile.stdout).toBe(byDir.stdout);
  });
});
