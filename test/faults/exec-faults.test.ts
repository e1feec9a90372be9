// exec faults: exec itself killed, a command that leaves a background child
// holding its output, inputs the command rewrites, paths with colons and
// URIs. Each runs `stagetrace exec` as a real process.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stageState } from "../../src/run/load-run.js";
import { CLI, runCli } from "../support/cli.js";
import { assertValidManifest } from "../support/schema.js";
import { readJson, tempDir } from "../support/tmp.js";
import { until } from "../support/until.js";

const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** True while `pid` is a live process (a zombie waiting for its parent counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe("exec killed by SIGKILL", () => {
  it("takes its command with it: SIGTERM first, SIGKILL after the grace period; the running manifest stays", async () => {
    const dir = tempDir();
    const runDir = join(dir, "run");
    const termSeen = join(dir, "term-seen");
    // The command ignores SIGTERM (noting that it got it) and never writes again, so no SIGPIPE ends it either.
    const script = `trap 'echo > "${termSeen}"' TERM; echo "PID $$"; while :; do sleep 0.1; done`;
    const exec = spawn(process.execPath, [CLI, "exec", "--stage", "orphan", "--", "sh", "-c", script], {
      env: { PATH: process.env.PATH ?? "", OUTPUT_DIR: runDir, STAGETRACE_KILL_GRACE_MS: "300" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const commandPid = await new Promise<number>((resolve, reject) => {
      exec.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /PID (\d+)\n/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      exec.on("close", () => reject(new Error(`exec ended before its command started: ${out}`)));
    });
    leftovers.push(commandPid);
    const ended = new Promise((r) => exec.on("close", r));
    exec.kill("SIGKILL");
    await ended;
    // The watchdog stands in for PR_SET_PDEATHSIG: the command does not outlive exec.
    await until(`process ${commandPid} to end`, () => !alive(commandPid), 60_000, 25);
    expect(readFileSync(termSeen, "utf8")).toBe("\n"); // it was asked to stop before it was killed
    const m = readJson(join(runDir, "orphan", "manifest.json"));
    assertValidManifest(m);
    expect(m.status).toBe("running");
    expect(stageState(m)).toBe("abandoned");
  });
});

describe("a background child that keeps the command's output open", () => {
  it("does not hold exec: it returns when the command exits, with the command's output and exit code", async () => {
    const dir = tempDir();
    const bgPid = join(dir, "bg.pid");
    const r = await runCli(["exec", "--stage", "daemon", "--", "sh", "-c", `sleep 300 & echo $! > "${bgPid}"; echo started; exit 3`], {
      env: { OUTPUT_DIR: join(dir, "run") },
    });
    leftovers.push(Number(readFileSync(bgPid, "utf8")));
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe("started\n");
    const m = readJson(join(dir, "run", "daemon", "manifest.json"));
    expect(m).toMatchObject({ status: "failed", process: { exit_code: 3 } });
  });

  it("does not hold exec when the background child keeps writing", async () => {
    const dir = tempDir();
    const bgPid = join(dir, "bg.pid");
    const script = `(while :; do echo tick; sleep 0.02; done) & echo $! > "${bgPid}"; echo started`;
    const r = await runCli(["exec", "--stage", "chatty", "--", "sh", "-c", script], { env: { OUTPUT_DIR: join(dir, "run") } });
    leftovers.push(Number(readFileSync(bgPid, "utf8")));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^(tick\n)*started\n/);
    expect(readJson(join(dir, "run", "chatty", "manifest.json")).status).toBe("success");
  });
});

describe("--input", () => {
  it("is fingerprinted before the command starts, whatever its size: a large input the command truncates keeps its size and hash", async () => {
    const dir = tempDir();
    const big = join(dir, "big.bin");
    const data = Buffer.alloc(12 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
    writeFileSync(big, data);
    const r = await runCli(["exec", "--stage", "rewrite", "--input", `${big}:blob`, "--", "sh", "-c", `: > "${big}"`], {
      env: { OUTPUT_DIR: join(dir, "run") },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(big).length).toBe(0); // the command did rewrite it
    const m = readJson(join(dir, "run", "rewrite", "manifest.json"));
    assertValidManifest(m);
    expect(m.inputs).toEqual([
      expect.objectContaining({
        path: big,
        type: "blob",
        kind: "file",
        size: data.length,
        hash: createHash("sha256").update(data).digest("hex"),
      }),
    ]);
  });

  it("takes a path with a colon whole, and records URIs as URIs (credentials censored)", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a:b.txt"), "colon\n");
    const r = await runCli(
      [
        "exec",
        "--stage",
        "uris",
        "--input",
        join(dir, "a:b.txt"),
        "--input",
        "a:b.txt:text",
        "--input",
        "s3://bucket/data/part-0.parquet",
        "--input",
        "https://reader:hunter2secret@data.example.com/x.csv?token=abcdef123456&page=2",
        "--output",
        "s3://bucket/out/result.json:json",
        "--",
        "true",
      ],
      { env: { OUTPUT_DIR: join(dir, "run") }, cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const raw = readFileSync(join(dir, "run", "uris", "manifest.json"), "utf8");
    expect(raw).not.toContain("hunter2secret");
    expect(raw).not.toContain("abcdef123456");
    const m = JSON.parse(raw);
    assertValidManifest(m);
    expect(m.status).toBe("success");
    expect(m.inputs.map((f: any) => [f.path, f.type, f.kind, f.exists, f.size])).toEqual([
      [join(dir, "a:b.txt"), "file", "file", true, 6],
      [join(dir, "a:b.txt"), "text", "file", true, 6],
      ["s3://bucket/data/part-0.parquet", "file", "uri", true, null],
      ["https://reader:[REDACTED]@data.example.com/x.csv?token=[REDACTED]&page=2", "file", "uri", true, null],
    ]);
    expect(m.inputs[2].name).toBe("part-0.parquet");
    expect(m.outputs).toEqual([
      expect.objectContaining({ path: "s3://bucket/out/result.json", type: "json", kind: "uri", name: "result.json" }),
    ]);
  });
});
