// The HTML report, opened from disk in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core). No request may leave the page.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRun } from "../../src/run/load-run.js";
import { jsonForScript, renderReport } from "../../src/report/report.js";
import { copyRun, editManifest, removeCopies, runFixture } from "./support.js";
import { writeSyntheticRun } from "./synthetic-run.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = resolve("test-artifacts", "report");
const JAEGER = "http://jaeger.example:16686";
const ALLOWED = /^(file|data|about|blob):/;

let browser: Browser;
let ok: string; // a successful run of the fixture pipeline
let failed: string; // the same, with translate failing
const pages: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM });
  ok = runFixture();
  failed = runFixture({ FIXTURE_FAIL: "translate" });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  removeCopies();
  for (const dir of pages) rmSync(dir, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  /** Every request the page tried that was not file:, data:, about: or blob:. */
  external: string[];
  errors: string[];
}

/** Writes the report of `runDir` to a file and opens it, recording any request that would leave the page. */
async function open(runDir: string, options: { jaegerUrl?: string } = {}): Promise<Opened> {
  const html = renderReport(loadRun(runDir), options);
  const dir = mkdtempSync(join(tmpdir(), "stagetrace-report-page-"));
  pages.push(dir);
  const file = join(dir, "report.html");
  writeFileSync(file, html);
  return openFile(pathToFileURL(file).href);
}

async function openFile(url: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const external: string[] = [];
  const errors: string[] = [];
  await page.route("**/*", (route) => {
    const u = route.request().url();
    if (ALLOWED.test(u)) return route.continue();
    external.push(u);
    return route.abort();
  });
  page.on("request", (r) => {
    if (!ALLOWED.test(r.url()) && !external.includes(r.url())) external.push(r.url());
  });
  page.on("websocket", (ws) => external.push(ws.url()));
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(url);
  await page.waitForSelector("html[data-ready]", { timeout: 20_000 });
  return { page, external, errors };
}

async function bars(page: Page): Promise<Record<string, string>> {
  return page.$$eval("#timeline .bar", (els) => Object.fromEntries(els.map((e) => [e.getAttribute("data-stage"), e.getAttribute("data-status")])));
}

describe("the report in Chromium", () => {
  it("notices a request that leaves the page (the guard every test below relies on)", async () => {
    const { page, external } = await openFile(
      "data:text/html,<img src='http://127.0.0.1:9/x.png'><html data-ready='1'></html>",
    );
    await page.waitForTimeout(200);
    expect(external).toContain("http://127.0.0.1:9/x.png");
    await page.close();
  });

  it("shows a successful run: header, one bar per stage with its status, details on click, lineage edges", async () => {
    const { page, external, errors } = await open(ok, { jaegerUrl: `${JAEGER}/` });

    // Header
    await expect(page.textContent("#header h1")).resolves.toBe("Run report: fixture success");
    await expect(page.textContent("#run-status")).resolves.toBe("success");
    const traceIds = loadRun(ok).stages.map((s) => s.manifest!.trace.trace_id);
    const href = await page.getAttribute("#trace-link", "href");
    expect(href).toMatch(new RegExp(`^${JAEGER}/trace/[0-9a-f]{32}$`));
    expect(traceIds).toContain(href!.split("/").pop());

    // Timeline: one bar per stage, with its status
    expect(await bars(page)).toEqual({
      "01_fetch": "success",
      "02_parse": "success",
      "03_translate": "success",
      "04_render": "success",
      "05_lint": "skipped",
      "06_publish": "success",
    });

    // Details open on click, and only that stage's
    const details = 'details.stage[data-stage="03_translate"]';
    expect(await page.$eval(details, (d) => (d as HTMLDetailsElement).open)).toBe(false);
    await page.click('#timeline .bar[data-stage="03_translate"]');
    expect(await page.$eval(details, (d) => (d as HTMLDetailsElement).open)).toBe(true);
    expect(await page.$$eval("details.stage[open]", (ds) => ds.map((d) => d.getAttribute("data-stage")))).toEqual(["03_translate"]);
    const text = (await page.textContent(details))!;
    expect(text).toContain("targetLang");
    expect(text).toContain("03_translate/translated.json");
    expect(text).toContain('03_translate/notes "<b>" ü.txt');
    expect(text).toContain("from 02_parse");
    expect(text).toContain("translated 2 records"); // the stage.log tail
    expect(text).toContain("peak_rss_mb");

    // Hover details
    await page.hover('#timeline .bar[data-stage="02_parse"]');
    expect(await page.textContent("#tip")).toMatch(/^02_parse {2}\[success\]\n[^]*1 warning\(s\): skipped \d+ empty lines/);

    // Lineage: the expected edges, no more
    const edges = await page.$$eval("#lineage-svg path.edge", (ps) =>
      ps.map((p) => `${p.getAttribute("data-from")} -> ${p.getAttribute("data-to")}${p.getAttribute("class") === "edge" ? "" : ` [${p.getAttribute("class")!.replace("edge ", "")}]`}`),
    );
    expect(edges.sort()).toEqual(
      [
        "stage:01_fetch -> file:01_fetch/source.txt",
        "stage:01_fetch -> file:01_fetch/notes.txt [untracked]",
        "file:01_fetch/source.txt -> stage:02_parse",
        "file:01_fetch/source.txt -> stage:04_render",
        "file:01_fetch/notes.txt -> stage:04_render",
        "stage:02_parse -> file:02_parse/records.json",
        "file:02_parse/records.json -> stage:03_translate",
        "stage:03_translate -> file:03_translate/translated.json",
        'stage:03_translate -> file:03_translate/notes "<b>" ü.txt',
        "file:03_translate/translated.json -> stage:04_render",
        "file:02_parse/glossary.json -> stage:04_render [missing]",
        "stage:04_render -> file:04_render/page.html",
        "file:04_render/page.html -> stage:06_publish",
        "stage:06_publish -> file:06_publish/published.txt",
      ].sort(),
    );
    const flags = await page.$$eval("#file-list .frow", (rows) =>
      Object.fromEntries(rows.map((r) => [r.getAttribute("data-path"), [...r.querySelectorAll(".flag")].map((f) => f.textContent)])),
    );
    expect(flags["01_fetch/notes.txt"]).toEqual(["untracked"]);
    expect(flags["02_parse/glossary.json"]).toEqual(["missing"]);
    expect(flags["01_fetch/source.txt"]).toEqual([]);

    await page.screenshot({ path: join(ARTIFACTS, "report-success.png"), fullPage: true });
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  });

  it("shows a failed run's error, with its stack", async () => {
    const { page, external, errors } = await open(failed);
    await expect(page.textContent("#run-status")).resolves.toBe("failed");
    expect(await bars(page)).toEqual({ "01_fetch": "success", "02_parse": "success", "03_translate": "failed" });
    await page.click('#timeline .bar[data-stage="03_translate"]');
    const details = 'details.stage[data-stage="03_translate"]';
    expect(await page.$eval(details, (d) => (d as HTMLDetailsElement).open)).toBe(true);
    await expect(page.textContent(`${details} .err-head`)).resolves.toBe("RangeError: translate failed on purpose (FIXTURE_FAIL)");
    const stack = (await page.textContent(`${details} pre.stack`))!;
    expect(stack).toContain("RangeError: translate failed on purpose");
    expect(stack).toContain("stage.mjs");
    await page.screenshot({ path: join(ARTIFACTS, "report-failed.png"), fullPage: true });
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  });

  it("shows a run in progress: a running stage and an abandoned (killed) one", async () => {
    const run = copyRun(ok);
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid!;
    editManifest(run, "03_translate", (m) => {
      m.status = "running";
      m.process = { ...m.process, pid: deadPid, hostname: hostname(), exit_code: null };
    });
    editManifest(run, "04_render", (m) => {
      m.status = "running";
      m.process = { ...m.process, pid: process.pid, hostname: hostname(), exit_code: null };
    });
    for (const dir of ["05_lint", "06_publish"]) rmSync(join(run, dir), { recursive: true });
    const { page, external, errors } = await open(run);
    await expect(page.textContent("#run-status")).resolves.toBe("running");
    expect(await bars(page)).toEqual({ "01_fetch": "success", "02_parse": "success", "03_translate": "abandoned", "04_render": "running" });
    // The abandoned stage opens by itself, and says why.
    const text = (await page.textContent('details.stage[data-stage="03_translate"][open]'))!;
    expect(text).toContain(`process ${deadPid}`);
    expect(text).toContain("is gone");
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  });

  it("cannot be injected into by stage names, file names, config or messages", async () => {
    const run = copyRun(ok);
    const evil = "</script><script>window.__pwned=1</script>";
    editManifest(run, "01_fetch", (m) => {
      m.stage = evil;
      m.pipeline.name = `<b>x</b></title><script>window.__pwned=2</script>`;
      m.config[`<img src=x onerror="window.__pwned=3">`] = `</script><!--<script>window.__pwned=4</script>`;
      m.warnings.push({ message: `'"\u2028\u2029<svg onload=window.__pwned=5>`, timestamp: m.started_at });
      m.outputs[0].path = join(run, "01_fetch", `${evil}\n"quoted" 'single' ünïcødé 𝄞.txt`);
    });
    const html = renderReport(loadRun(run));
    expect(html).not.toContain(evil);
    expect(html).not.toContain("<script>window.__pwned");
    expect(html).not.toContain("<img src=x");
    const { page, external, errors } = await open(run);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.$$eval("script", (s) => s.length)).toBe(2);
    // The text is shown as it is.
    expect(await page.textContent(".g-label[data-i='0']")).toBe(`01 ${evil}`);
    await page.click('#timeline .bar[data-stage="01_fetch"]');
    const text = (await page.textContent('details.stage[data-stage="01_fetch"]'))!;
    expect(text).toContain(`<img src=x onerror="window.__pwned=3">`);
    expect(text).toContain(`ünïcødé 𝄞.txt`);
    expect(text).toContain(`<svg onload=window.__pwned=5>`);
    expect(await page.title()).toContain("<b>x</b></title>");
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  });

  it("summarises a medium run (40 stages, 16,000 files) and keeps its lists virtual", async () => {
    const run = join(mkdtempSync(join(tmpdir(), "stagetrace-report-medium-")), "run");
    pages.push(join(run, ".."));
    writeSyntheticRun(run, { stages: 40, files: 16_000, failAt: 20 });
    const { page, external, errors } = await open(run);
    expect(Object.keys(await bars(page))).toHaveLength(40);
    expect((await bars(page))["21_step021"]).toBe("failed");
    await expect(page.getAttribute("#lineage-graph", "data-mode")).resolves.toBe("stages");
    // One arc per pair of neighbouring stages.
    expect(await page.$$eval("#lineage-svg path.edge", (ps) => ps.length)).toBe(39);
    const rows = await page.$$eval("#file-list .frow", (r) => r.length);
    expect(rows).toBeGreaterThan(5);
    expect(rows).toBeLessThan(100);
    await page.fill("#file-filter", "05_step005/shards/part-00007");
    await page.waitForFunction(() => document.querySelectorAll("#file-list .frow").length === 1);
    // A stage with 400 inputs and 400 outputs opens with virtual lists too.
    await page.click('#timeline .bar[data-stage="10_step010"]');
    const entryRows = await page.$$eval('details.stage[data-stage="10_step010"] .frow.ent:not(.head)', (r) => r.length);
    expect(entryRows).toBeLessThan(150);
    await page.screenshot({ path: join(ARTIFACTS, "report-medium.png") });
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  });
});

describe("jsonForScript", () => {
  it("leaves nothing that can close a script element or open a comment", () => {
    const text = jsonForScript({ a: "</script><!-- \u2028 & >", b: "</SCRIPT>" });
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual({ a: "</script><!-- \u2028 & >", b: "</SCRIPT>" });
  });
});
