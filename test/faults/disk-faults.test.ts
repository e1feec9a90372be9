// Disk faults: a run directory that cannot be created, and log files on a
// full disk (/dev/full answers every write with ENOSPC, even for root, so
// these tests do not depend on file permissions).
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assertValidManifest } from "../support/schema.js";
import { readJson, tempDir } from "../support/tmp.js";
import { run } from "./harness.js";

const HAS_DEV_FULL = existsSync("/dev/full");

/** A run directory under a regular file: every mkdir and open in it fails with ENOTDIR. */
function unwritableRun(): { runDir: string; result: string } {
  const root = tempDir();
  writeFileSync(join(root, "a-file"), "");
  return { runDir: join(root, "a-file", "run"), result: join(root, "result.txt") };
}

/** A run whose stage.log and pipeline log both point at /dev/full. */
function fullDiskRun(): { runDir: string; env: Record<string, string> } {
  const runDir = tempDir();
  mkdirSync(join(runDir, "faulty"));
  symlinkSync("/dev/full", join(runDir, "faulty", "stage.log"));
  return { runDir, env: { OUTPUT_DIR: runDir, STAGETRACE_PIPELINE_LOG: "/dev/full", FAULT_LINES: "500" } };
}

describe("a run directory that cannot be written", () => {
  it("by default: stderr names each path, the errno and what to do; the stage's own work and exit code stand", async () => {
    const { runDir, result } = unwritableRun();
    const r = await run({ OUTPUT_DIR: runDir, FAULT_RESULT: result, FAULT_LINES: "3" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^DONE 0$/m);
    expect(readFileSync(result, "utf8")).toBe("partial result\n"); // the stage's work is kept
    const said = r.stderr.split("\n").filter((l) => l.startsWith("stagetrace: "));
    for (const [path, what] of [
      [join(runDir, "faulty"), "cannot create stage directory"],
      [join(runDir, "faulty", "manifest.json"), "cannot write the running manifest"],
      [join(runDir, "faulty", "stage.log"), "cannot open log file"],
    ]) {
      const line = said.find((l) => l.includes(`${what} ${path} `));
      expect(line, `${what} ${path}\n${r.stderr}`).toBeDefined();
      expect(line).toContain("ENOTDIR");
      expect(line).toMatch(/writable|permissions/);
    }
    // Each problem is said once; the log lines themselves went to stderr instead.
    expect(new Set(said).size).toBe(said.length);
    expect(r.stderr).toContain('"msg":"line 2"');
  });

  it("in strict mode (STAGETRACE_STRICT=1): the stage refuses to start, with the same error, and the process fails", async () => {
    const { runDir, result } = unwritableRun();
    const r = await run({ OUTPUT_DIR: runDir, FAULT_RESULT: result, STAGETRACE_STRICT: "1" });
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain("STARTED");
    expect(r.stderr).toMatch(/StagetraceError: stage faulty \(strict mode\): .*ENOTDIR.*check OUTPUT_DIR permissions and free disk space/);
    expect(r.stderr).toContain(runDir);
  });
});

describe.runIf(HAS_DEV_FULL)("log files on a full disk (/dev/full)", () => {
  it("by default: each file's failure is said once with path, errno and remedy, recorded as a warning, and the stage succeeds", async () => {
    const { runDir, env } = fullDiskRun();
    const r = await run(env);
    expect(r.code, r.stderr).toBe(0);
    const said = r.stderr.trim().split("\n");
    expect(said).toEqual([
      `stagetrace: writing ${join(runDir, "faulty", "stage.log")} failed (ENOSPC: no space left on device, write); lines are missing from it. Free disk space or fix the file's permissions; the stage goes on.`,
      "stagetrace: writing /dev/full failed (ENOSPC: no space left on device, write); lines are missing from it. Free disk space or fix the file's permissions; the stage goes on.",
    ]);
    const m = readJson(join(runDir, "faulty", "manifest.json"));
    assertValidManifest(m);
    expect(m.status).toBe("success");
    expect(m.outputs.map((o: { name: string }) => o.name)).toEqual(["result.txt"]);
    expect(m.warnings.map((w: { message: string }) => w.message)).toEqual([
      expect.stringMatching(/stage\.log failed \(ENOSPC/),
      expect.stringMatching(/^writing \/dev\/full failed \(ENOSPC/),
    ]);
    expect(readFileSync(join(runDir, "faulty", "result.txt"), "utf8")).toBe("partial result\n");
  });

  it("in strict mode: the stage ends failed with the reason, and the exit code is 1", async () => {
    const { runDir, env } = fullDiskRun();
    const r = await run({ ...env, STAGETRACE_STRICT: "1" });
    expect(r.code).toBe(1);
    const m = readJson(join(runDir, "faulty", "manifest.json"));
    assertValidManifest(m);
    expect(m.status).toBe("failed");
    expect(m.status_reason).toMatch(/^strict mode: writing .*stage\.log failed \(ENOSPC: no space left on device, write\)/);
    expect(m.errors[0].message).toBe(m.status_reason);
    expect(r.stderr).toContain("(strict mode)");
    // The stage's work is still on disk.
    expect(readFileSync(join(runDir, "faulty", "result.txt"), "utf8")).toBe("partial result\n");
  });
});
