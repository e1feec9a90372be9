// The CLI's module compile cache (src/cli/compile-cache.ts): on Node 22.1+ it
// fills NODE_COMPILE_CACHE's directory, never the run directory; on Node 20
// there is none; a directory that cannot be created changes nothing the
// command prints or returns. Run on each Node line CI tests (20, 22, 24).
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, type CliResult } from "../support/cli.js";
import { allFiles, readJson, tempDir } from "../support/tmp.js";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const HAS_COMPILE_CACHE = major > 22 || (major === 22 && minor >= 1);

/** A pipeline that writes to both streams and exits 3, under `stagetrace run`, with `env` added. */
async function pipelineRun(env: Record<string, string>): Promise<{ result: CliResult; run: string }> {
  const run = join(tempDir(), "run");
  const script = "process.stdout.write('out line\\n'); process.stderr.write('err line\\n'); process.exitCode = 3";
  const result = await runCli(["run", "--name", "cc", "--run-dir", run, "--", process.execPath, "-e", script], { env });
  return { result, run };
}

/** run's stderr with what differs between any two runs (run directory, run id, duration) replaced. */
function normalised(stderr: string, run: string): string {
  return stderr
    .replaceAll(run, "<run>")
    .replace(/ after [\d.]+ \w+/g, " after <time>")
    .replace(/, run \S+/g, ", run <id>");
}

describe("the module compile cache", () => {
  it(
    HAS_COMPILE_CACHE
      ? `is on (Node ${process.versions.node}): <TMPDIR>/node-compile-cache fills, the run directory holds no cache`
      : `is off on Node ${process.versions.node} (no compile cache before 22.1): nothing is made in TMPDIR`,
    async () => {
      // Without NODE_COMPILE_CACHE, Node leaves the cache off unless the CLI turns it on.
      const tmp = tempDir();
      const cache = join(tmp, "node-compile-cache");
      const { result, run } = await pipelineRun({ TMPDIR: tmp });
      expect(result.code).toBe(3);
      if (HAS_COMPILE_CACHE) {
        // One directory per Node version and V8 flags, one file per compiled module.
        const versions = readdirSync(cache);
        expect(versions).toHaveLength(1);
        expect(versions[0]).toContain(process.versions.node);
        expect(readdirSync(join(cache, versions[0]!)).length).toBeGreaterThan(10);
      } else {
        expect(existsSync(cache)).toBe(false);
      }
      expect(allFiles(run).map((f) => f.slice(run.length + 1))).toEqual(
        expect.not.arrayContaining([expect.stringMatching(/compile|^v\d+\./)]),
      );
      expect(readJson(join(run, "pipeline.json")).status).toBe("failed");
    },
  );

  it("NODE_COMPILE_CACHE is where the cache goes when it is set, and NODE_DISABLE_COMPILE_CACHE=1 turns it off", async () => {
    const tmp = tempDir();
    const chosen = join(tmp, "chosen");
    await pipelineRun({ TMPDIR: tmp, NODE_COMPILE_CACHE: chosen });
    expect(existsSync(join(tmp, "node-compile-cache"))).toBe(false);
    expect(existsSync(chosen)).toBe(HAS_COMPILE_CACHE);
    const disabled = tempDir();
    await pipelineRun({ TMPDIR: disabled, NODE_DISABLE_COMPILE_CACHE: "1" });
    expect(readdirSync(disabled)).toEqual([]);
  });

  it("a cache directory that cannot be made (NODE_COMPILE_CACHE or TMPDIR under a regular file) fails nothing and prints nothing", async () => {
    const dir = tempDir();
    const file = join(dir, "a-file");
    writeFileSync(file, "not a directory\n");
    const off = await pipelineRun({ NODE_DISABLE_COMPILE_CACHE: "1" });
    const unwritable = await pipelineRun({ NODE_COMPILE_CACHE: join(file, "cache") });
    const noTmp = await pipelineRun({ TMPDIR: file });
    for (const { result, run } of [off, unwritable, noTmp]) {
      expect(result.code).toBe(3);
      expect(result.stdout).toBe("out line\n");
      // The pipeline's own line, then run's summary of a failed run: the same with the cache on, off or unwritable.
      expect(normalised(result.stderr, run)).toBe(normalised(off.result.stderr, off.run));
      expect(result.stderr).toMatch(/^err line\n/);
      expect(readJson(join(run, "pipeline.json")).status).toBe("failed");
    }
    expect(existsSync(join(file, "cache"))).toBe(false);

    const version = await runCli(["--version"], { env: { NODE_COMPILE_CACHE: join(file, "cache") } });
    expect(version).toMatchObject({ code: 0, stderr: "" });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
