// `stagetrace exec` as a transparent wrapper: the command's output reaches
// exec's own stdout byte for byte, and a reader that goes away ends the
// command as it would without exec.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI } from "../support/cli.js";
import { readLogLines, tempDir } from "../support/tmp.js";

function sh(script: string, dir: string) {
  const r = spawnSync("bash", ["-c", script], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", OUTPUT_DIR: join(dir, "run"), ST: `${process.execPath} ${CLI}` },
    encoding: "buffer",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe("stagetrace exec output", () => {
  it("passes binary output through byte for byte (gzip -c into a file)", () => {
    const dir = tempDir();
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + (i >> 8)) & 0xff;
    writeFileSync(join(dir, "data.bin"), data);
    const r = sh("$ST exec --stage zip -- gzip -c data.bin > data.bin.gz && gzip -dc data.bin.gz > back.bin", dir);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "back.bin")).equals(data)).toBe(true);
  });

  it("keeps a character split across writes whole, in the output and in stage.log", () => {
    const dir = tempDir();
    // "é" is 0xC3 0xA9: the two bytes in two writes, a pause between them.
    const r = sh(`$ST exec --stage split -- bash -c 'printf "caf\\xc3"; sleep 0.2; printf "\\xa9 au lait\\n"'`, dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.toString("utf8")).toBe("café au lait\n");
    const lines = readLogLines(join(dir, "run", "split", "stage.log"));
    expect(lines.map((l) => l.msg)).toContain("café au lait");
  });

  it("a reader that goes away ends the command with SIGPIPE (141), as without exec, and exec does not crash", () => {
    const dir = tempDir();
    const bare = sh('yes | head -1 > /dev/null; echo "${PIPESTATUS[0]}"', dir);
    const wrapped = sh('$ST exec --stage yes -- yes | head -1 > /dev/null; echo "${PIPESTATUS[0]}"', dir);
    expect(bare.stdout.toString().trim()).toBe("141");
    expect(wrapped.stdout.toString().trim()).toBe("141");
    expect(wrapped.stderr).not.toMatch(/EPIPE|Error:|at /);
    const manifest = JSON.parse(readFileSync(join(dir, "run", "yes", "manifest.json"), "utf8"));
    expect(manifest.process.exit_code).toBe(141);
  });
});

describe("stagetrace exec: a command killed by a signal", () => {
  it.each([
    ["SIGSEGV", 11, "failed"],
    ["SIGABRT", 6, "failed"],
    ["SIGKILL", 9, "failed"],
    ["SIGTERM", 15, "interrupted"],
  ] as const)("%s (%i) from outside exec makes the stage %s, and exec's status is 128+signal", (signal, number, status) => {
    const dir = tempDir();
    const r = sh(`$ST exec --stage crash -- bash -c 'kill -${signal.slice(3)} $$'; echo "code=$?"`, dir);
    const manifest = JSON.parse(readFileSync(join(dir, "run", "crash", "manifest.json"), "utf8"));
    expect(manifest.status, r.stderr).toBe(status);
    if (status === "failed") expect(manifest.errors[0].message).toBe(`command crashed: killed by ${signal}`);
    expect(r.stdout.toString().trim()).toBe(`code=${128 + number}`);
  });
});
