// Backpressure through `stagetrace exec`: a reader that stops reading stops
// the command, as it would without exec, so exec never holds the output in
// memory. The check is the mechanism (the command ends up blocked in a pipe
// write with only a few pipe buffers' worth written), not a time or a size
// measured against a clock.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/until.js";

const TOTAL = 32 * 1024 * 1024;
const CHUNK = 256 * 1024;

// Writes TOTAL bytes of 1 KiB lines to stdout in blocking writes, and after
// each write the running total to a progress file (its pid first).
const WRITER = `
const fs = require("node:fs");
const [progress, total, chunk] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const line = "x".repeat(1023) + "\\n";
const buf = Buffer.from(line.repeat(chunk / 1024));
let written = 0;
fs.writeFileSync(progress, process.pid + " 0");
while (written < total) {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(1, buf, off);
  written += buf.length;
  fs.writeFileSync(progress, process.pid + " " + written);
}
`;

function progressOf(path: string): { pid: number; written: number } | null {
  if (!existsSync(path)) return null;
  const [pid, written] = readFileSync(path, "utf8").split(" ").map(Number);
  return pid && written !== undefined && !Number.isNaN(written) ? { pid, written } : null;
}

/**
 * Whether the process sleeps in a write to its stdout: the kernel's wait
 * channel for a full pipe (`pipe_write`) or a full socket pair, which is what
 * Node gives a child's stdio (`sock_alloc_send_pskb`, `unix_stream_sendmsg`).
 */
function blockedInWrite(pid: number): boolean {
  try {
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    const wchan = readFileSync(`/proc/${pid}/wchan`, "utf8");
    return state === "S" && /pipe_write|sock_alloc_send|unix_stream_sendmsg|wait_for_space/.test(wchan);
  } catch {
    return false;
  }
}

describe("stagetrace exec with a slow reader", () => {
  it("a reader that stops reading stops the command in its write (exec buffers nothing); once it reads again, every byte arrives", async () => {
    const dir = tempDir();
    const progress = join(dir, "progress");
    const child = spawn(
      process.execPath,
      [CLI, "exec", "--stage", "flood", "--", process.execPath, "-e", WRITER, progress, String(TOTAL), String(CHUNK)],
      {
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", OUTPUT_DIR: join(dir, "run") },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // Nobody reads exec's stdout yet: its pipe fills, then exec's, then the command's.
    child.stdout.pause();

    const p = await until("the command asleep in its write", () => {
      const now = progressOf(progress);
      expect(now?.written ?? 0, "the command wrote everything while nobody read: exec buffered it").toBeLessThan(TOTAL);
      return now !== null && blockedInWrite(now.pid) ? now : null;
    });
    // Blocked with only pipe buffers and one stream buffer in between, nowhere near the whole output.
    expect(p.written).toBeLessThanOrEqual(8 * 1024 * 1024);

    let received = 0;
    child.stdout.on("data", (d: Buffer) => (received += d.length));
    child.stdout.resume();
    expect(await exited, stderr).toBe(0);
    expect(received).toBe(TOTAL);
    expect(progressOf(progress)?.written).toBe(TOTAL);
  });
});
