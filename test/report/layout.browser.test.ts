// The report's layout, measured in headless Chromium at a laptop's size
// (1400x900), a phone's (390x844) and a small phone's (360x640), for a successful run, a failed run and
// runs of 200 stages: what failed and why is on the first screen, the page
// never scrolls sideways, and the lineage graph fits its box with readable
// labels. Screenshots of each go to test-artifacts/report/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRun } from "../../src/run/load-run.js";
import { renderReport } from "../../src/report/report.js";
import { launchChromium, measure, openReport, type Chromium } from "./browser.js";
import { removeCopies, runFixture } from "./support.js";
import { writeSyntheticRun } from "./synthetic-run.mjs";

const ARTIFACTS = resolve("test-artifacts", "report");
const SIZES = [
  { name: "desktop", width: 1400, height: 900 },
  { name: "phone", width: 390, height: 844 },
  { name: "small-phone", width: 360, height: 640 },
] as const;

let browser: Chromium;
const dirs: string[] = [];
const runs: Record<string, string> = {};

function reportFile(runDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), "stagetrace-layout-"));
  dirs.push(dir);
  const file = join(dir, "report.html");
  writeFileSync(file, renderReport(loadRun(runDir)));
  return pathToFileURL(file).href;
}

function synthetic(options: { stages: number; files: number; failAt: number }): string {
  const dir = mkdtempSync(join(tmpdir(), "stagetrace-layout-run-"));
  dirs.push(dir);
  return writeSyntheticRun(join(dir, "run"), options);
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
  runs.success = runFixture();
  runs.failed = runFixture({ FIXTURE_FAIL: "translate" });
  // 200 stages, one file each: every file is a node of the graph.
  runs["200-stages"] = synthetic({ stages: 200, files: 200, failAt: 150 });
  // 200 stages, 4,000 files: the graph is summarised to arcs between stages.
  runs["200-stages-4000-files"] = synthetic({ stages: 200, files: 4000, failAt: 180 });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  removeCopies();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const CASES = [
  { run: "success", failedStage: null, mode: "files" },
  { run: "failed", failedStage: "03_translate", mode: "files" },
  { run: "200-stages", failedStage: "151_step151", mode: "files" },
  { run: "200-stages-4000-files", failedStage: "181_step181", mode: "stages" },
] as const;

describe.each(CASES)("the report of the $run run", ({ run, failedStage, mode }) => {
  it.each(SIZES)("at $width x $height: the banner on the first screen, no sideways scroll, the graph fits its box", async (size) => {
    const { page, errors, external } = await openReport(browser, reportFile(runs[run]!), size);
    const layout = await measure(page);
    await page.screenshot({ path: join(ARTIFACTS, `layout-${run}-${size.name}.png`) });

    expect(layout.innerWidth).toBe(size.width);
    expect(layout.pageScrollWidth).toBeLessThanOrEqual(layout.innerWidth);

    if (failedStage) {
      expect(layout.banner).not.toBeNull();
      expect(layout.banner!.top).toBeGreaterThanOrEqual(0);
      expect(layout.banner!.bottom).toBeLessThanOrEqual(layout.innerHeight);
      expect(layout.banner!.text).toContain(failedStage);
      expect(layout.banner!.text).toContain("failed");
      expect(layout.banner!.text).toMatch(
        run === "failed"
          ? /RangeError: translate failed on purpose \(FIXTURE_FAIL\)[^]*at failIfAsked/
          : /Error: synthetic failure[^]*at synthetic/,
      );
      expect(await page.isVisible("#banner a.to-details")).toBe(true);
      expect(await page.isVisible("#banner a.to-log")).toBe(true);
    } else {
      // A successful run with warnings says how many, and where.
      expect(layout.banner?.text).toBe("2 warnings in 2 stages: 02_parse (1), 04_render (1)");
      expect(layout.banner!.bottom).toBeLessThanOrEqual(layout.innerHeight);
    }

    const g = layout.graph!;
    expect(g.mode).toBe(mode);
    expect(g.boxScrollWidth).toBeLessThanOrEqual(g.boxWidth);
    expect(g.svgLeft).toBeGreaterThanOrEqual(g.boxLeft);
    expect(g.svgRight).toBeLessThanOrEqual(g.boxRight);
    expect(layout.overfullLabels).toEqual([]);
    expect(layout.overlappingTicks).toEqual([]);
    // Taller than its box, the graph scrolls inside it, and says so.
    if (run.startsWith("200")) expect(g.svgHeight).toBeGreaterThan(g.boxHeight);
    if (g.svgHeight > g.boxHeight + 1) expect(g.note).toMatch(/The graph is \d+ px tall: scroll inside it to see all of it\.$/);
    else expect(g.note).not.toContain("scroll");

    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  });
});

describe("the report's banner links and resource chart", () => {
  it("opens the failed stage's log from the banner, and its details", async () => {
    const { page, errors } = await openReport(browser, reportFile(runs.failed!), SIZES[1]);
    await page.click("#banner a.to-log");
    const details = 'details.stage[data-stage="03_translate"]';
    expect(await page.$eval(details, (d) => (d as HTMLDetailsElement).open)).toBe(true);
    const inView = await page.$eval(`${details} .log-view`, (e) => {
      const r = e.getBoundingClientRect();
      return r.top >= 0 && r.top < window.innerHeight;
    });
    expect(inView).toBe(true);
    expect(await page.textContent(`${details} .log-view`)).toContain("translate failed on purpose");
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.click("#banner a.to-details");
    expect(await page.$eval(details, (d) => Math.round(d.getBoundingClientRect().top))).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("names the heaviest stage by wall time, CPU and peak RSS, and draws one bar row per stage", async () => {
    const { page } = await openReport(browser, reportFile(runs["200-stages"]!), SIZES[0]);
    const run = loadRun(runs["200-stages"]!);
    const byDuration = [...run.stages].sort((a, b) => b.manifest!.duration_ms! - a.manifest!.duration_ms!)[0]!;
    const byRss = [...run.stages].sort((a, b) => Number(b.manifest!.resources.peak_rss_mb) - Number(a.manifest!.resources.peak_rss_mb))[0]!;
    const heaviest = (await page.textContent("#resources-heaviest"))!;
    expect(heaviest).toContain(`wall time ${byDuration.dirName} (`);
    expect(heaviest).toContain(`peak RSS ${byRss.dirName} (${String(byRss.manifest!.resources.peak_rss_mb)} MB)`);
    expect(await page.$$eval("#resources-chart .res-row:not(.head)", (r) => r.length)).toBe(200);
    const top = await page.$eval(`#resources-chart .res-row[data-stage="${byRss.dirName}"] .res-cell.rss`, (c) => [
      c.classList.contains("top"),
      (c.querySelector(".res-bar") as HTMLElement).style.width,
    ]);
    expect(top).toEqual([true, "100%"]);
    await page.close();
  });
});
