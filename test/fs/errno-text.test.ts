import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { errnoText } from "../../src/fs/errno-text.js";
import { fingerprint } from "../../src/fs/file-fingerprint.js";

const dir = mkdtempSync(join(tmpdir(), "stagetrace-errno-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

describe("errnoText", () => {
  it("names the code once for Node's fs errors, whose message already starts with it", () => {
    writeFileSync(join(dir, "plain"), "x");
    const err = thrownBy(() => readFileSync(join(dir, "plain", "below")));
    expect(errnoText(err)).toMatch(/^ENOTDIR: not a directory, open /);
  });

  it("adds the code when the message lacks it, and stringifies what is not an Error", () => {
    expect(errnoText(Object.assign(new Error("disk full"), { code: "ENOSPC" }))).toBe("ENOSPC: disk full");
    expect(errnoText(new Error("plain"))).toBe("plain");
    expect(errnoText("text")).toBe("text");
  });

  it("is what a fingerprint's problem says (once ENOTDIR, not twice)", () => {
    writeFileSync(join(dir, "file"), "x");
    const fp = fingerprint(join(dir, "file", "under"), "none");
    expect(fp).not.toBeInstanceOf(Promise);
    const problem = (fp as { problem?: string }).problem ?? "";
    expect(problem).toContain("(ENOTDIR: not a directory");
    expect(problem).not.toContain("ENOTDIR: ENOTDIR");
  });
});
