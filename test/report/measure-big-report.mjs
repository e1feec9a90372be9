// Measures the report for a big run: 500 stages and 50,000 files (override
// with STAGES and FILES). Prints the time to build the HTML, its size, and
// the time headless Chromium takes to load and draw it (median of RUNS).
// Needs a build (npx tsc -p tsconfig.json) and Chromium (CHROMIUM, default
// /usr/bin/chromium). Usage: node test/report/measure-big-report.mjs
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { loadRun } from "../../dist/src/run/load-run.js";
import { renderReport } from "../../dist/src/report/report.js";
import { writeSyntheticRun } from "./synthetic-run.mjs";

const stages = Number(process.env.STAGES ?? 500);
const files = Number(process.env.FILES ?? 50_000);
const runs = Number(process.env.RUNS ?? 5);
const dir = mkdtempSync(join(tmpdir(), "stagetrace-big-"));
try {
  writeSyntheticRun(dir, { stages, files, failAt: Math.floor(stages / 2) });
  let t = performance.now();
  const run = loadRun(dir);
  const loadMs = performance.now() - t;
  t = performance.now();
  const html = renderReport(run, {});
  const renderMs = performance.now() - t;
  const out = join(dir, "report.html");
  writeFileSync(out, html);
  const size = statSync(out).size;
  console.log(
    `${stages} stages, ${files} files: loadRun ${loadMs.toFixed(0)} ms, renderReport ${renderMs.toFixed(0)} ms, ${(size / 1e6).toFixed(1)} MB`,
  );

  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
  const times = [];
  for (let i = 0; i < runs; i++) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("pageerror", (e) => console.error("page error:", e.message));
    const start = Date.now();
    await page.goto(`file://${out}`);
    await page.waitForSelector("html[data-painted]", { timeout: 60_000 });
    const wall = Date.now() - start;
    // eslint-disable-next-line no-undef -- runs in the page
    const painted = await page.evaluate(() => window.reportRenderedAt);
    times.push({ wall, painted });
    await page.close();
  }
  await browser.close();
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `browser: from navigation to the drawn page, median of ${runs}: ${median(times.map((x) => x.painted)).toFixed(0)} ms ` +
      `(wall clock including page creation: ${median(times.map((x) => x.wall))} ms)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
