import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LogFiles } from "../../src/log/log-files.js";
import { tempDir } from "../support/tmp.js";

// A log is opened first and its directory made only when the open finds it missing.
describe("LogFiles.open", () => {
  it("appends to a log in an existing directory and makes the directories of one that has none yet", () => {
    const dir = tempDir();
    const warnings: string[] = [];
    const files = new LogFiles((m) => warnings.push(m));
    const here = join(dir, "here.log");
    const nested = join(dir, "logs", "deep", "pipeline.log");
    writeFileSync(here, "old\n");
    files.open(here, dir).write("new\n");
    files.open(nested, dir).write("line\n");
    files.close();
    expect(readFileSync(here, "utf8")).toBe("old\nnew\n");
    expect(readFileSync(nested, "utf8")).toBe("line\n");
    expect(warnings).toEqual([]);
  });

  it("falls back to stderr with a warning naming the path when the directory cannot be made", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "plain"), "x");
    const warnings: string[] = [];
    const files = new LogFiles((m) => warnings.push(m));
    const path = join(dir, "plain", "sub", "stage.log");
    const file = files.open(path, dir);
    expect(file.problem).toContain(path);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(path);
    files.close();
  });

  it("still refuses a symlink that leads outside the run directory", () => {
    const run = tempDir();
    const outside = tempDir();
    mkdirSync(join(run, "s"));
    symlinkSync(join(outside, "target.log"), join(run, "s", "stage.log"));
    writeFileSync(join(outside, "target.log"), "");
    const warnings: string[] = [];
    const files = new LogFiles((m) => warnings.push(m));
    const file = files.open(join(run, "s", "stage.log"), run);
    expect(file.problem).toContain("outside the run directory");
    files.close();
    expect(readFileSync(join(outside, "target.log"), "utf8")).toBe("");
  });
});
