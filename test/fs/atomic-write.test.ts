import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FILE_MODE, writeFileAtomic } from "../../src/fs/atomic-write.js";
import { StagetraceError } from "../../src/errors.js";
import { tempDir } from "../support/tmp.js";

// The temp file is opened first and the directory made only when that fails: each way a write can go.
describe("writeFileAtomic", () => {
  it("replaces a file in an existing directory, whole text or in pieces, and leaves no temp file", () => {
    const dir = tempDir();
    const path = join(dir, "out.txt");
    writeFileAtomic(path, "first\n");
    writeFileAtomic(path, ["sec", "ond", "\n"]);
    expect(readFileSync(path, "utf8")).toBe("second\n");
    expect(readdirSync(dir)).toEqual(["out.txt"]);
    expect(statSync(path).mode & 0o777 & ~FILE_MODE).toBe(0);
  });

  it("makes the directories a path needs when they do not exist yet, for whole text and for pieces", () => {
    const dir = tempDir();
    const a = join(dir, "x", "y", "a.json");
    const b = join(dir, "p", "q", "b.json");
    writeFileAtomic(a, "a\n");
    writeFileAtomic(
      b,
      (function* () {
        yield "b";
        yield "\n";
      })(),
    );
    expect(readFileSync(a, "utf8")).toBe("a\n");
    expect(readFileSync(b, "utf8")).toBe("b\n");
    expect(readdirSync(join(dir, "x", "y"))).toEqual(["a.json"]);
    expect(readdirSync(join(dir, "p", "q"))).toEqual(["b.json"]);
  });

  it("fails with IO_ERROR naming the path when its directory is a regular file, and leaves nothing", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "plain"), "x");
    const path = join(dir, "plain", "out.txt");
    let thrown: unknown;
    try {
      writeFileAtomic(path, "text");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(StagetraceError);
    expect((thrown as StagetraceError).code).toBe("IO_ERROR");
    expect((thrown as Error).message).toContain(`could not write ${path} (`);
    expect(readdirSync(dir)).toEqual(["plain"]);
    expect(readFileSync(join(dir, "plain"), "utf8")).toBe("x");
  });

  it("fails with IO_ERROR when the target is a directory, and removes its temp file", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "out.txt", "inside"), { recursive: true });
    expect(() => writeFileAtomic(join(dir, "out.txt"), "text")).toThrow(/could not write .*out\.txt/);
    expect(readdirSync(dir)).toEqual(["out.txt"]);
  });
});
