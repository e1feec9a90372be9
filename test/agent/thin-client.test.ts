// A stage process under `stagetrace run` hands its stage to the run's agent
// and loads neither the OpenTelemetry SDK, nor an exporter, nor pino; the
// same process without the agent loads them all (which shows the probe sees them).
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CLI, runCli } from "../support/cli.js";
import { readJson, readLogLines, tempDir } from "../support/tmp.js";

const PROBE = fileURLToPath(new URL("../fixtures/loaded-modules.mjs", import.meta.url));
const EXIT_PACKAGES = fileURLToPath(new URL("../fixtures/exit-packages.mjs", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The packages a probe stage loaded, run by a pipeline under `stagetrace run` (`unset` takes the agent away). */
async function loaded(env: string, unsetAgent = false): Promise<{ packages: string[]; run: string }> {
  const dir = tempDir();
  const out = join(dir, "packages.json");
  writeFileSync(join(dir, "p.sh"), `${unsetAgent ? "unset STAGETRACE_AGENT; " : ""}${env} node "${PROBE}" > "${out}"\n`);
  const run = join(dir, "run");
  const r = await runCli(["run", "--run-dir", run, "--", "sh", join(dir, "p.sh")], { cwd: dir, env: { STAGETRACE_RUN_AGENT: "1" } });
  expect(r.code, r.stderr).toBe(0);
  return { packages: JSON.parse(readFileSync(out, "utf8")) as string[], run };
}

const HEAVY = (p: string) => p === "pino" || p.startsWith("@opentelemetry/") || p.startsWith("@grpc/");

describe("the stage process's side of the agent", () => {
  it("loads no OpenTelemetry package and no pino for a stage that does not log", async () => {
    const { packages, run } = await loaded("FIXTURE_STAGE=quiet");
    expect(packages.filter(HEAVY)).toEqual([]);
    // The stage is recorded all the same.
    const m = readJson(join(run, "quiet", "manifest.json"));
    expect(m.status).toBe("success");
    expect(readLogLines(join(run, "quiet", "stage.log")).map((l) => l.msg)).toEqual(["stage quiet started", "stage quiet finished"]);
  });

  it("loads pino and the API, but no SDK or exporter, for a stage that asks for its logger", async () => {
    const { packages, run } = await loaded("FIXTURE_STAGE=talks FIXTURE_LOGGER=1");
    expect(packages).toContain("pino");
    expect(packages.filter((p) => p.startsWith("@opentelemetry/") && p !== "@opentelemetry/api")).toEqual([]);
    expect(readLogLines(join(run, "talks", "stage.log")).map((l) => l.msg)).toEqual([
      "stage talks started",
      "one line",
      "stage talks finished",
    ]);
  });

  it("without the agent, the same stage loads the SDK, an exporter and pino in its own process", async () => {
    const { packages } = await loaded("FIXTURE_STAGE=alone", true);
    expect(packages).toEqual(expect.arrayContaining(["pino", "@opentelemetry/api", "@opentelemetry/sdk-trace"]));
  });

  it("the package entry exports the same names with and without the agent", () => {
    const script = `const m = await import("stagetrace"); process.stdout.write(JSON.stringify(Object.keys(m).sort()));`;
    const names = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", ...env },
        encoding: "utf8",
      });
      expect(r.stderr).toBe("");
      return JSON.parse(r.stdout) as string[];
    };
    const inProcess = names({});
    expect(inProcess).toContain("runStage");
    expect(names({ STAGETRACE_AGENT: tempDir() })).toEqual(inProcess);
  });

  it("loads no node:crypto and no file streams (no ES facade of node:fs) in a stage process under the agent", () => {
    // An `import` of node:fs reads every export, getters included: fs's load the file streams. The bundle takes
    // built-ins with process.getBuiltinModule; ids and temp names come from src/random-hex.ts. (util's parseArgs is not
    // checked: from Node 22 loading node:util loads it, however util is taken.)
    const script = [
      `const before = new Set(process.moduleLoadList);`,
      `const m = await import("stagetrace");`,
      `const code = await m.runStage("quiet", async (io) => { io.addConfig("k", 1); });`,
      `const loaded = process.moduleLoadList.filter((x) => !before.has(x));`,
      `process.stdout.write(JSON.stringify({ code, loaded }));`,
    ].join("\n");
    const dir = tempDir();
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", STAGETRACE_AGENT: dir, OUTPUT_DIR: join(dir, "run") },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    const { code, loaded } = JSON.parse(r.stdout) as { code: number; loaded: string[] };
    expect(code).toBe(0);
    // The stage went to the agent's spool (a run state made here too, with its id from random-hex), not in-process.
    expect(readdirSync(dir).filter((f) => f.endsWith(".jsonl"))).toHaveLength(1);
    expect(loaded).not.toContain("NativeModule crypto");
    expect(loaded).not.toContain("NativeModule internal/fs/streams");
  });

  it("is one bundled module (scripts/build-entry-bundle.mjs) whose classes are the in-process entry's", () => {
    expect(readFileSync(join(ROOT, "dist/src/entry/package-entry.js"), "utf8")).toMatch(
      /^\/\/ bundled by scripts\/build-entry-bundle\.mjs/,
    );
    // Under an agent the names come from the bundle; what the in-process entry throws must still be `instanceof` them.
    const script = [
      `const thin = await import("stagetrace");`,
      `const { createRequire } = await import("node:module");`,
      `const full = createRequire(import.meta.url)("./dist/src/index.js");`,
      `const e = new full.StagetraceError("NOT_FOUND", "x");`,
      `const t = new thin.StagetraceError("NOT_FOUND", "y");`,
      `class Own extends thin.StagetraceError {}`,
      `process.stdout.write(JSON.stringify([`,
      `  e instanceof thin.StagetraceError, t instanceof full.StagetraceError, new Error("z") instanceof thin.StagetraceError,`,
      `  new Own("NOT_FOUND", "o") instanceof Own, t instanceof Own,`,
      `  thin.StageManifest.prototype === full.StageManifest.prototype, thin.StageIO === full.StageIO,`,
      `]));`,
    ].join("\n");
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", STAGETRACE_AGENT: tempDir() },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    // The bundle's StagetraceError is a copy: an error of either copy is instanceof both, a subclass checks its prototype.
    // StageManifest is the in-process class, loaded on first use. StageIO is the agent's client there, by design.
    expect(JSON.parse(r.stdout)).toEqual([true, true, false, true, false, true, false]);
  });
});

/** The packages `stagetrace exec` loaded for a command that reports a record and prints, under `stagetrace run`. */
async function execLoaded(unsetAgent: boolean): Promise<{ packages: string[]; run: string }> {
  const dir = tempDir();
  const out = join(dir, "packages.json");
  const command = `echo printed; echo '{"v":1,"record":"config","values":{"model":"v2"}}' >> "$STAGETRACE_RECORDS"`;
  writeFileSync(
    join(dir, "p.sh"),
    `${unsetAgent ? "unset STAGETRACE_AGENT; " : ""}FIXTURE_PACKAGES_OUT="${out}" "${process.execPath}" --import "${EXIT_PACKAGES}" "${CLI}" exec --stage shell -- sh -c '${command.replace(/'/g, `'"'"'`)}'\n`,
  );
  const run = join(dir, "run");
  const r = await runCli(["run", "--run-dir", run, "--", "sh", join(dir, "p.sh")], { cwd: dir, env: { STAGETRACE_RUN_AGENT: "1" } });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe("printed\n");
  return { packages: JSON.parse(readFileSync(out, "utf8")) as string[], run };
}

describe("stagetrace exec under the run's agent", () => {
  it("loads no OpenTelemetry package and no pino, and its stage is recorded all the same", async () => {
    const { packages, run } = await execLoaded(false);
    expect(packages.filter(HEAVY)).toEqual([]);
    const m = readJson(join(run, "shell", "manifest.json"));
    expect(m.status).toBe("success");
    expect(m.config).toEqual({ model: "v2" });
    expect(readLogLines(join(run, "shell", "stage.log")).map((l) => l.msg)).toContain("printed");
  });

  it("without the agent, loads the SDK and pino (which shows the probe sees them)", async () => {
    const { packages } = await execLoaded(true);
    expect(packages).toEqual(expect.arrayContaining(["pino", "@opentelemetry/api", "@opentelemetry/sdk-trace"]));
  });
});
