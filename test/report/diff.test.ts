import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffRuns, renderDiffText } from "../../src/report/diff.js";
import { loadRun } from "../../src/run/load-run.js";
import { runCliInProcess } from "../support/cli.js";
import { copyRun, editManifest, removeCopies, runFixture } from "./support.js";

let fr: string; // the fixture pipeline, targetLang fr
let de: string; // the same, targetLang de: translate's config differs
let frAgain: string; // fr again, in another directory
let failed: string; // fr, translate throws

beforeAll(() => {
  fr = runFixture();
  de = runFixture({ FIXTURE_LANG: "de" });
  frAgain = runFixture();
  failed = runFixture({ FIXTURE_FAIL: "translate" });
}, 60_000);

afterAll(removeCopies);

describe("diffRuns", () => {
  it("names the stage whose config changed as the first divergence, and lists the downstream outputs that changed", () => {
    const diff = diffRuns(loadRun(fr), loadRun(de));
    expect(diff.differs).toBe(true);
    expect(diff.firstDivergence).toMatchObject({ stage: "translate", dir: "03_translate", number: 3, rule: "config" });

    const by = Object.fromEntries(diff.stages.map((s) => [s.dir, s]));
    expect(Object.keys(by)).toEqual(["01_fetch", "02_parse", "03_translate", "04_render", "05_lint", "06_publish"]);
    for (const dir of ["01_fetch", "02_parse", "05_lint"]) expect(by[dir]!.differs, dir).toBe(false);

    const translate = by["03_translate"]!;
    expect(translate.config).toEqual({ added: [], removed: [], changed: [{ key: "targetLang", a: "fr", b: "de" }] });
    expect(translate.inputs).toEqual({ changed: [], appeared: [], disappeared: [] });
    expect(translate.outputs.changed.map((f) => f.path).sort()).toEqual(['03_translate/notes "<b>" ü.txt', "03_translate/translated.json"]);

    expect(by["04_render"]!.inputs.changed.map((f) => f.path)).toEqual(["03_translate/translated.json"]);
    expect(by["04_render"]!.outputs.changed.map((f) => f.path)).toEqual(["04_render/page.html"]);
    expect(by["06_publish"]!.outputs.changed.map((f) => f.path)).toEqual(["06_publish/published.txt"]);
    expect(by["04_render"]!.config.changed).toEqual([]);
    const changed = by["04_render"]!.outputs.changed[0]!;
    expect(changed.a).toMatch(/^[0-9a-f]{64}$/);
    expect(changed.b).toMatch(/^[0-9a-f]{64}$/);
    expect(changed.a).not.toBe(changed.b);
  });

  it("finds nothing between two identical runs in different directories", () => {
    const diff = diffRuns(loadRun(fr), loadRun(frAgain));
    expect(diff.stages.filter((s) => s.differs)).toEqual([]);
    expect(diff.differs).toBe(false);
    expect(diff.firstDivergence).toBeNull();
    expect(diff.stages.every((s) => s.duration.ratio === null || s.duration.ratio > 0)).toBe(true);
  });

  it("reports a stage that failed: status, new error, lost outputs, and the stages that did not run", () => {
    const diff = diffRuns(loadRun(fr), loadRun(failed));
    const by = Object.fromEntries(diff.stages.map((s) => [s.dir, s]));
    expect(by["03_translate"]!.status).toEqual({ a: "success", b: "failed", changed: true });
    expect(by["03_translate"]!.errors.added).toEqual(["RangeError: translate failed on purpose (FIXTURE_FAIL)"]);
    expect(by["03_translate"]!.outputs.disappeared.map((f) => f.path)).toContain("03_translate/translated.json");
    expect(by["04_render"]!.onlyIn).toBe("a");
    expect(by["06_publish"]!.onlyIn).toBe("a");
    // Same inputs, and it newly failed: translate is where the runs part.
    expect(diff.firstDivergence).toMatchObject({ dir: "03_translate", rule: "status" });
  });

  it("never prints a value whose key looks secret, even when a manifest holds it in clear", () => {
    const leaky = copyRun(frAgain);
    editManifest(leaky, "01_fetch", (m) => {
      m.config.apiToken = "clear-text-secret-value";
      m.config.retries = 4;
    });
    const diff = diffRuns(loadRun(fr), loadRun(leaky));
    const fetch = diff.stages.find((s) => s.dir === "01_fetch")!;
    expect(fetch.config.changed).toEqual([
      { key: "apiToken", a: "[REDACTED]", b: "[REDACTED]" },
      { key: "retries", a: 3, b: 4 },
    ]);
    const text = renderDiffText(diff) + JSON.stringify(diff);
    expect(text).not.toContain("clear-text-secret-value");
    // Config changed but outputs did not: no stage meets the rule, so the first stage that differs is named.
    expect(diff.firstDivergence).toMatchObject({ dir: "01_fetch", rule: "first-difference" });
  });
});

describe("stagetrace diff", () => {
  it("exits 1 and names the first divergence on its first line when runs differ", async () => {
    const { code: result, stdout: out } = await runCliInProcess(["diff", fr, de]);
    expect(result).toBe(1);
    const lines = out.split("\n");
    expect(lines[0]).toMatch(/^first divergence: 03_translate \(/);
    expect(out).toContain('config targetLang: "fr" → "de"');
    expect(out).toContain("output changed: 04_render/page.html");
    expect(out).toContain("output changed: 06_publish/published.txt");
  });

  it("exits 0 for identical runs", async () => {
    const { code: result, stdout: out } = await runCliInProcess(["diff", fr, frAgain]);
    expect(result).toBe(0);
    expect(out.split("\n")[0]).toBe("first divergence: none");
  });

  it("prints JSON with --json", async () => {
    const { code: result, stdout: out } = await runCliInProcess(["diff", "--json", fr, de]);
    expect(result).toBe(1);
    const json = JSON.parse(out);
    expect(json.firstDivergence.dir).toBe("03_translate");
    expect(json.differs).toBe(true);
  });

  it("turns bad arguments into usage errors (exit 2), each naming what is wrong", async () => {
    for (const [args, message] of [
      [[fr], "needs two run directories, RUN_A and RUN_B"],
      [[fr, join(fr, "no-such-run")], `RUN_B ${join(fr, "no-such-run")}: `],
      [["--color", fr, de], "unknown option --color"],
      [[fr, de, fr], `unexpected argument ${JSON.stringify(fr)}`],
    ] as [string[], string][]) {
      const r = await runCliInProcess(["diff", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(`stagetrace diff: ${message}`);
      expect(r.stderr).toMatch(/\nUsage: stagetrace diff RUN_A RUN_B \[--json\]\n$/);
    }
  });
});

describe("stagetrace report", () => {
  it("writes <run dir>/report.html by default and prints its path", async () => {
    const run = copyRun(fr);
    const { code: result, stdout: out } = await runCliInProcess(["report", run]);
    expect(result).toBe(0);
    expect(out.trim()).toBe(join(run, "report.html"));
    const html = readFileSync(join(run, "report.html"), "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg")/); // no URL but the SVG namespace without --jaeger-url
  });

  it("takes --out and --jaeger-url, or STAGETRACE_JAEGER_URL", async () => {
    const run = copyRun(fr);
    const out1 = join(run, "a", "r1.html");
    expect((await runCliInProcess(["report", run, "--out", out1, "--jaeger-url", "http://jaeger.test:16686/"])).code).toBe(0);
    expect(readFileSync(out1, "utf8")).toContain('"jaegerUrl":"http://jaeger.test:16686"');
    const out2 = join(run, "r2.html");
    const r = await runCliInProcess(["report", run, `--out=${out2}`], { env: { STAGETRACE_JAEGER_URL: "https://tracing.test" } });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out2, "utf8")).toContain('"jaegerUrl":"https://tracing.test"');
  });

  it("turns bad arguments into usage errors", async () => {
    for (const [args, message] of [
      [[], "missing RUN_DIR"],
      [[join(fr, "nope")], `${join(fr, "nope")}: not a run directory (`],
      [[fr, "--jaeger-url", "javascript:alert(1)"], '--jaeger-url must be an http(s) URL, got "javascript:alert(1)"'],
      [[fr, "--out"], "--out needs a value"],
    ] as [string[], string][]) {
      const r = await runCliInProcess(["report", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(`stagetrace report: ${message}`);
      expect(r.stderr).toContain("Usage: stagetrace report RUN_DIR [--out FILE] [--jaeger-url URL]\n");
    }
    expect(existsSync(join(fr, "report.html"))).toBe(false);
  });
});
