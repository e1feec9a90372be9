// stderrIsTerminal() says what process.stderr.isTTY says, for stderr on a
// pipe, on /dev/null (a character device that is no terminal), and on a
// pseudo-terminal (Python's pty module gives the child one), without
// loading node:net where stderr is no character device.
import { spawnSync } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

const TERMINAL = fileURLToPath(new URL("../../dist/src/fs/terminal.js", import.meta.url));

/** What a child whose stderr is `stderr` finds: ours, Node's, and whether node:net was loaded for ours. */
function probe(stderr: "pipe" | "null" | "pty"): { ours: boolean; node: boolean; net: boolean } {
  const out = join(tempDir(), "result.json");
  const script =
    `const { stderrIsTerminal } = await import(${JSON.stringify(TERMINAL)});` +
    `const ours = stderrIsTerminal(); const net = process.moduleLoadList.includes("NativeModule net");` +
    `(await import("node:fs")).writeFileSync(${JSON.stringify(out)}, JSON.stringify({ ours, net, node: process.stderr.isTTY === true }));`;
  const node = [process.execPath, "--input-type=module", "-e", script];
  const r =
    stderr === "pty"
      ? spawnSync("python3", ["-c", "import pty, sys; pty.spawn(sys.argv[1:])", ...node], { encoding: "utf8" })
      : spawnSync(node[0]!, node.slice(1), { stdio: ["ignore", "ignore", stderr === "pipe" ? "pipe" : openSync("/dev/null", "w")] });
  expect(r.status, String(r.stderr)).toBe(0);
  return JSON.parse(readFileSync(out, "utf8"));
}

describe("stderrIsTerminal", () => {
  it("is false for a pipe, without loading node:net", () => {
    expect(probe("pipe")).toEqual({ ours: false, node: false, net: false });
  });

  it("is false for /dev/null, a character device", () => {
    expect(probe("null")).toMatchObject({ ours: false, node: false });
  });

  it("is true for a pseudo-terminal", () => {
    expect(probe("pty")).toMatchObject({ ours: true, node: true });
  });
});
