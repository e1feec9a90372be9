// The CLI's in-process entry, main(argv, io): it prints only to the streams
// it is given, leaves this process as it found it, and loads a subcommand
// only when it runs (show and validate never load the OpenTelemetry SDK).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { runCliInProcess } from "../support/cli.js";
import { runFixture } from "../report/support.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/until.js";

const LOADED = fileURLToPath(new URL("../fixtures/cli-loaded-modules.mjs", import.meta.url));

let run: string;
beforeAll(() => {
  run = runFixture();
}, 60_000);

/** The exit code, and every module the loader loaded, of `stagetrace ARGS...` run through main() in a fresh process. */
function modulesLoadedBy(args: string[]): { code: number; loaded: string[] } {
  const r = spawnSync(process.execPath, [LOADED, ...args], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as { code: number; loaded: string[] };
}

/** What stands for "the telemetry stack": the SDK, the OTLP exporters, pino, stagetrace's own telemetry. */
const HEAVY = /@opentelemetry\/(sdk-|exporter-|otlp-|core\/)|\/pino\/|\/dist\/src\/telemetry\/|\/dist\/exporters\//;

describe("stagetrace's main()", () => {
  it.each([["show"], ["validate"]])("%s never loads the SDK, the exporters, pino or stagetrace's telemetry", (cmd) => {
    const r = modulesLoadedBy([cmd, run]);
    expect(r.code).toBe(0);
    expect(r.loaded.some((u) => u.endsWith(`/dist/src/cli/${cmd}.js`))).toBe(true);
    expect(r.loaded.filter((u) => HEAVY.test(u))).toEqual([]);
  });

  it("a command that needs telemetry does load it (the check above can see it)", () => {
    const r = modulesLoadedBy(["run", "end", "--run-dir", tempDir()]);
    expect(r.code).toBe(1);
    expect(r.loaded.filter((u) => HEAVY.test(u)).length).toBeGreaterThan(0);
  });

  it("--help loads no command at all", () => {
    const r = modulesLoadedBy(["exec", "--help"]);
    expect(r.code).toBe(0);
    expect(r.loaded.filter((u) => u.includes("/dist/src/cli/") && !/\/(main|args|declarations|help|compile-cache)\.js$/.test(u))).toEqual(
      [],
    );
  });

  it("leaves the process as it found it: exit code, signal and exit handlers, open handles", async () => {
    const events = ["SIGINT", "SIGTERM", "SIGHUP", "exit", "beforeExit", "uncaughtException", "unhandledRejection"] as const;
    const state = () => ({
      exitCode: process.exitCode,
      listeners: events.map((e) => process.listenerCount(e)),
      stdoutListeners: process.stdout.listenerCount("error"),
    });
    const before = state();
    const resourcesBefore = process.getActiveResourcesInfo();
    const out = join(tempDir(), "report.html");
    const results = [
      await runCliInProcess([]),
      await runCliInProcess(["show", "--json", run]),
      await runCliInProcess(["show", join(run, "nope")]),
      await runCliInProcess(["validate", run]),
      await runCliInProcess(["diff", run, run]),
      await runCliInProcess(["report", run, "--out", out]),
      await runCliInProcess(["replay", join(run, "nope.json"), "--out", tempDir()]),
      await runCliInProcess(["track", "warning", "x"]),
      await runCliInProcess(["exec", "--stage", "x", "--bogus", "--", "true"]),
      await runCliInProcess(["run", "--help"]),
    ];
    expect(results.map((r) => r.code)).toEqual([2, 0, 1, 0, 0, 0, 1, 1, 2, 0]);
    expect(state()).toEqual(before);
    // Nothing left open: no handle or timer more than before (the test runner's own may come and go
    // meanwhile, so a passing one is waited out; one the commands left open stays, and fails).
    const added = () => {
      const now = [...process.getActiveResourcesInfo()];
      for (const r of resourcesBefore) if (now.includes(r)) now.splice(now.indexOf(r), 1);
      return now;
    };
    await until("no handle or timer left open by main()", () => added().length === 0, 10_000).catch(() => undefined);
    expect(added()).toEqual([]);
  });

  it("prints to the streams it is given and reads the env it is given", async () => {
    const r = await runCliInProcess(["report", run, "--out", join(tempDir(), "r.html"), "--jaeger-url", "http://j.test"]);
    expect(r.stdout).toMatch(/r\.html\n$/);
    const fromEnv = await runCliInProcess(["report", run, "--out", join(tempDir(), "r.html")], {
      env: { STAGETRACE_JAEGER_URL: "javascript:alert(1)" },
    });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('--jaeger-url must be an http(s) URL, got "javascript:alert(1)"');
  });
});
