// The workflow-engine tests drive a real Snakemake from PyPI. On a fresh
// machine it is not there, so the first test that needs it installs it, once,
// into a venv in the git-ignored .test-tools/ folder, saying so on stderr.
// The venv is built under a private name and renamed into place, so two test
// runs side by side never use a half-built one. If it cannot be installed, the
// test fails with the reason: it is never skipped for a missing tool.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The Snakemake release the tests pin. */
export const SNAKEMAKE_VERSION = "9.27.1";

const TOOLS = fileURLToPath(new URL("../../.test-tools", import.meta.url));
const VENV = join(TOOLS, `snakemake-${SNAKEMAKE_VERSION}`);

/** The venv's python; `python -m snakemake` works wherever the venv lives. */
export const SNAKEMAKE_PYTHON = join(VENV, "bin", "python");

function works(): boolean {
  const r = spawnSync(SNAKEMAKE_PYTHON, ["-m", "snakemake", "--version"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() === SNAKEMAKE_VERSION;
}

function run(argv: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** Makes sure .test-tools/snakemake-<version> holds a working Snakemake; returns its python. */
export async function ensureSnakemake(): Promise<string> {
  if (existsSync(SNAKEMAKE_PYTHON) && works()) return SNAKEMAKE_PYTHON;
  mkdirSync(TOOLS, { recursive: true });
  const building = `${VENV}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  process.stderr.write(`test setup: installing snakemake==${SNAKEMAKE_VERSION} from PyPI into ${VENV} (first use only)\n`);
  const venv = await run(["python3", "-m", "venv", building]);
  if (venv.code !== 0) {
    // A Python without the venv module's pip (Debian's python3 without python3-venv): a venv
    // without pip, with the packages put into its site-packages by the system's pip.
    rmSync(building, { recursive: true, force: true });
    process.stderr.write(`test setup: python3 -m venv failed (${venv.output.trim().split("\n").pop()}); trying a venv without pip\n`);
    const bare = await run(["python3", "-m", "venv", "--without-pip", building]);
    if (bare.code !== 0) throw new Error(`python3 -m venv ${building} failed: ${venv.output}${bare.output}`);
  }
  const hasPip = spawnSync(join(building, "bin", "python"), ["-m", "pip", "--version"]).status === 0;
  const site = hasPip
    ? null
    : spawnSync(join(building, "bin", "python"), ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], { encoding: "utf8" }).stdout.trim();
  const pip = await run(
    hasPip
      ? [join(building, "bin", "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", `snakemake==${SNAKEMAKE_VERSION}`]
      : ["python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", site!, `snakemake==${SNAKEMAKE_VERSION}`],
  );
  if (pip.code !== 0) {
    rmSync(building, { recursive: true, force: true });
    throw new Error(`pip install snakemake==${SNAKEMAKE_VERSION} failed; the Snakemake tests need it (network access to PyPI):\n${pip.output}`);
  }
  try {
    renameSync(building, VENV);
  } catch {
    // Another test run finished first: use its venv.
    rmSync(building, { recursive: true, force: true });
  }
  if (!works()) throw new Error(`${SNAKEMAKE_PYTHON} -m snakemake --version does not print ${SNAKEMAKE_VERSION} after the install`);
  process.stderr.write(`test setup: snakemake ${SNAKEMAKE_VERSION} is ready\n`);
  return SNAKEMAKE_PYTHON;
}
