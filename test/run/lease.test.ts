import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { holdLease, LEASE_FILE, readLease } from "../../src/run/lease.js";
import { tempDir } from "../support/tmp.js";

describe("holdLease", () => {
  it("writes the lease at once and stop() removes it, leaving the directory as it was", () => {
    const stageDir = join(tempDir(), "01_stage");
    mkdirSync(stageDir);
    const warnings: string[] = [];
    const lease = holdLease(stageDir, 30, (m) => warnings.push(m));
    expect(readLease(stageDir)).toMatchObject({ pid: process.pid, timeout_s: 30 });
    lease.stop();
    expect(readdirSync(stageDir)).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it("stop() says nothing when the lease or its whole directory is already gone", () => {
    const stageDir = join(tempDir(), "01_stage");
    mkdirSync(stageDir);
    const first = holdLease(stageDir, 30, () => {});
    rmSync(join(stageDir, LEASE_FILE));
    expect(() => first.stop()).not.toThrow();
    const second = holdLease(stageDir, 30, () => {});
    rmSync(stageDir, { recursive: true });
    expect(() => second.stop()).not.toThrow();
    expect(existsSync(stageDir)).toBe(false);
  });
});
