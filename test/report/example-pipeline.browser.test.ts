// The report and diff of the example pipeline (examples/subtitle-pipeline):
// what `npm run demo` shows a new user.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { EXAMPLE_PIPELINE } from "../support/example-pipeline.js";
import { tempDir } from "../support/tmp.js";
import { measure } from "./browser.js";

const PIPELINE = EXAMPLE_PIPELINE;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ALLOWED = /^(file|data|about|blob):/;

function runPipeline(env: Record<string, string>): string {
  const run = join(tempDir(), "run");
  const r = spawnSync("bash", [PIPELINE], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", OUTPUT_DIR: run, ...env },
    encoding: "utf8",
  });
  const expected = env.FAIL_STAGE ? 1 : 0;
  if (r.status !== expected) throw new Error(`the pipeline exited with ${r.status ?? r.signal}, expected ${expected}:\n${r.stderr}`);
  return run;
}

let browser: Browser;
let fr: string;
let es: string;
let failed: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
  browser = await chromium.launch({ executablePath: CHROMIUM });
  fr = runPipeline({});
  es = runPipeline({ TRANSLATION_TARGET_LANG: "es" });
  failed = runPipeline({ FAIL_STAGE: "asr" });
}, 180_000);
afterAll(() => browser?.close());

describe("the example pipeline's report", () => {
  it("has one bar per stage, the lineage the stages really have, and makes no request", async () => {
    const r = await runCli(["report", fr]);
    expect(r.code, r.stderr).toBe(0);
    const file = join(fr, "report.html");
    expect(r.stdout).toContain(file);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const external: string[] = [];
    await page.route("**/*", (route) => (ALLOWED.test(route.request().url()) ? route.continue() : (external.push(route.request().url()), route.abort())));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector("html[data-ready]");

    const bars = await page.$$eval("#timeline .bar", (els) => els.map((e) => `${e.getAttribute("data-stage")} ${e.getAttribute("data-status")}`));
    expect(bars).toEqual([
      "01_demux success",
      "02_tmdb success",
      "03_glossary_load success",
      "04_source_separation success",
      "05_pyannote_vad success",
      "06_asr success",
      "07_alignment success",
      "08_lyrics_detection skipped",
      "09_translation success",
      "10_subtitle_generation success",
      "11_mux success",
    ]);

    // Stage-to-stage lineage, from the file edges: who consumed what another stage produced.
    const edges: [string, string][] = await page.$$eval("#lineage-svg path.edge", (ps) =>
      ps.map((p) => [p.getAttribute("data-from")!, p.getAttribute("data-to")!] as [string, string]),
    );
    const producedBy = new Map(edges.filter(([f]) => f.startsWith("stage:")).map(([s, file]) => [file, s.slice(6)]));
    const stagePairs = new Set(
      edges.filter(([f, t]) => f.startsWith("file:") && t.startsWith("stage:") && producedBy.has(f)).map(([f, t]) => `${producedBy.get(f)} -> ${t.slice(6)}`),
    );
    expect([...stagePairs].sort()).toEqual(
      [
        "01_demux -> 02_tmdb",
        "01_demux -> 04_source_separation",
        "01_demux -> 07_alignment",
        "01_demux -> 11_mux",
        "02_tmdb -> 03_glossary_load",
        "03_glossary_load -> 06_asr",
        "03_glossary_load -> 09_translation",
        "04_source_separation -> 05_pyannote_vad",
        "04_source_separation -> 06_asr",
        "04_source_separation -> 07_alignment",
        "05_pyannote_vad -> 06_asr",
        "06_asr -> 07_alignment",
        "07_alignment -> 09_translation",
        "09_translation -> 10_subtitle_generation",
        "10_subtitle_generation -> 11_mux",
      ].sort(),
    );
    expect(await page.$$eval("#lineage-svg path.edge.missing, #lineage-svg path.edge.untracked", (ps) => ps.length)).toBe(0);
    const artifacts = resolve("test-artifacts", "report");
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "example-pipeline.png"), fullPage: true });
    expect(external).toEqual([]);
    await page.close();
  });

  it("of a failed run shows the failed stage's error", async () => {
    const out = join(tempDir(), "failed.html");
    const r = await runCli(["report", failed, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const page = await browser.newPage();
    await page.goto(pathToFileURL(out).href);
    await page.waitForSelector("html[data-ready]");
    expect(await page.textContent("#run-status")).toBe("failed");
    await page.click('#timeline .bar[data-stage="06_asr"]');
    expect(await page.textContent('details.stage[data-stage="06_asr"]')).toContain("FAIL_STAGE=asr: failing on purpose");
    await page.close();
  });
});

describe("the example pipeline's report (11 stages) on a laptop and on a phone", () => {
  it.each([
    { size: "desktop", width: 1400, height: 900 },
    { size: "phone", width: 390, height: 844 },
  ])("at $width x $height: the failed stage and why on the first screen, no sideways scroll, the graph fits", async ({ size, width, height }) => {
    const artifacts = resolve("test-artifacts", "report");
    mkdirSync(artifacts, { recursive: true });
    for (const [name, run] of [["success", fr], ["failed", failed]] as const) {
      const out = join(tempDir(), `${name}.html`);
      const r = await runCli(["report", run, "--out", out]);
      expect(r.code, r.stderr).toBe(0);
      const page = await browser.newPage({ viewport: { width, height } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(pathToFileURL(out).href);
      await page.waitForSelector("html[data-ready]");
      const layout = await measure(page);
      await page.screenshot({ path: join(artifacts, `example-${name}-${size}.png`) });
      expect(layout.pageScrollWidth).toBeLessThanOrEqual(width);
      const g = layout.graph!;
      expect(g.mode).toBe("files");
      expect(g.boxScrollWidth).toBeLessThanOrEqual(g.boxWidth);
      expect(g.svgRight).toBeLessThanOrEqual(g.boxRight);
      expect(layout.overfullLabels).toEqual([]);
      expect(layout.overlappingTicks).toEqual([]);
      // All eleven stages are nodes of the graph.
      expect(await page.$$eval("#lineage-svg g.node.stage", (n) => n.length)).toBe(11);
      if (name === "failed") {
        expect(layout.banner!.bottom).toBeLessThanOrEqual(height);
        expect(layout.banner!.text).toContain("06_asr");
        expect(layout.banner!.text).toContain("FAIL_STAGE=asr: failing on purpose");
      }
      expect(errors).toEqual([]);
      await page.close();
    }
  });
});

describe("stagetrace diff on two runs of the example pipeline", () => {
  it("names translation, whose config changed, as the first divergence and lists the outputs that changed downstream", async () => {
    const r = await runCli(["diff", "--json", fr, es]);
    expect(r.code, r.stderr).toBe(1);
    const diff = JSON.parse(r.stdout);
    expect(diff.firstDivergence).toMatchObject({ dir: "09_translation" });
    const changed = diff.stages.filter((s: any) => s.differs).map((s: any) => [s.dir, s.outputs.changed.map((f: any) => f.path)]);
    expect(changed).toEqual([
      ["09_translation", ["09_translation/translation.json"]],
      ["10_subtitle_generation", ["10_subtitle_generation/subtitles.srt"]],
      ["11_mux", ["11_mux/movie.subtitled.stc"]],
    ]);
    const text = await runCli(["diff", fr, es]);
    expect(text.stdout.split("\n")[0]).toMatch(/^first divergence: 09_translation /);
  });

  it("finds nothing between a run and itself", async () => {
    const r = await runCli(["diff", fr, fr]);
    expect(r.code, r.stdout).toBe(0);
  });
});
