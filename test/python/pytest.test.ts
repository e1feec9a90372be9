// The Python package's own suite (python/tests), run by pytest as part of
// `npm test`. pytest is installed with pip when this machine lacks it: a
// missing tool is installed, never a reason to skip.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const PYTHON_DIR = fileURLToPath(new URL("../../python", import.meta.url));

function run(argv: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: PYTHON_DIR, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("the Python package", () => {
  it("passes its pytest suite (unit tests, and stages run as processes under the real CLI)", async () => {
    if (spawnSync("python3", ["-c", "import pytest"]).status !== 0) {
      const install = await run(["python3", "-m", "pip", "install", "--quiet", "pytest"]);
      expect(install.code, install.output).toBe(0);
    }
    const result = await run(["python3", "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/\d+ passed/);
    expect(result.output).not.toMatch(/skipped|xfail/);
  }, 900_000);
});
