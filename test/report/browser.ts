// Headless Chromium for the report tests: Debian's /usr/bin/chromium (installed
// by test/support/chromium-setup.ts), driven by playwright-core, in a profile of
// its own, with everything that would reach the network switched off.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ALLOWED = /^(file|data|about|blob):/;

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), "stagetrace-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface OpenedPage {
  page: Page;
  /** Requests that would have left the page (anything but file:, data:, about:, blob:). */
  external: string[];
  /** Script errors and console errors. */
  errors: string[];
}

/** Opens `url` at the given viewport size and waits until the report has drawn itself. */
export async function openReport(browser: Chromium, url: string, viewport: { width: number; height: number }): Promise<OpenedPage> {
  const page = await browser.context.newPage();
  await page.setViewportSize(viewport);
  const external: string[] = [];
  const errors: string[] = [];
  await page.route("**/*", (route) => {
    const u = route.request().url();
    if (ALLOWED.test(u)) return route.continue();
    external.push(u);
    return route.abort();
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(url);
  await page.waitForSelector("html[data-ready]", { timeout: 20_000 });
  return { page, external, errors };
}

/** Layout facts of a drawn report, measured in the page. */
export interface Layout {
  innerWidth: number;
  innerHeight: number;
  /** document.scrollingElement.scrollWidth: more than innerWidth means the page scrolls sideways. */
  pageScrollWidth: number;
  banner: { top: number; bottom: number; text: string } | null;
  graph: {
    boxWidth: number;
    boxHeight: number;
    svgHeight: number;
    boxScrollWidth: number;
    svgLeft: number;
    svgRight: number;
    boxLeft: number;
    boxRight: number;
    mode: string | null;
    note: string;
  } | null;
  /** Graph labels wider than their node (would be cut off or overlap). */
  overfullLabels: string[];
  /** Timeline tick labels that overlap the next one. */
  overlappingTicks: string[];
}

export function measure(page: Page): Promise<Layout> {
  return page.evaluate(() => {
    const banner = document.getElementById("banner");
    const b = banner?.getBoundingClientRect();
    const box = document.getElementById("lineage-graph");
    const svg = document.getElementById("lineage-svg");
    const boxRect = box?.getBoundingClientRect();
    const svgRect = svg?.getBoundingClientRect();
    const overfull: string[] = [];
    document.querySelectorAll("#lineage-svg g.node").forEach((g) => {
      const rect = g.querySelector("rect");
      const text = g.querySelector<SVGTextElement>("text");
      if (rect && text && text.getComputedTextLength() + 6 > Number(rect.getAttribute("width")) + 0.5)
        overfull.push(text.textContent ?? "");
    });
    const ticks = [...document.querySelectorAll("#timeline .g-tick")].map((t) => ({
      text: t.textContent ?? "",
      r: t.getBoundingClientRect(),
    }));
    const overlapping: string[] = [];
    for (let i = 1; i < ticks.length; i++) {
      const range = document.createRange();
      range.selectNodeContents(document.querySelectorAll("#timeline .g-tick")[i - 1]!);
      const textRight = range.getBoundingClientRect().right;
      if (textRight > ticks[i]!.r.left) overlapping.push(`${ticks[i - 1]!.text} / ${ticks[i]!.text}`);
    }
    return {
      innerWidth: window.innerWidth,
      innerHeight: window.innerHeight,
      pageScrollWidth: document.scrollingElement!.scrollWidth,
      banner: b ? { top: b.top, bottom: b.bottom, text: banner!.textContent ?? "" } : null,
      graph:
        box && boxRect
          ? {
              boxWidth: box.clientWidth,
              boxHeight: box.clientHeight,
              svgHeight: svgRect?.height ?? 0,
              boxScrollWidth: box.scrollWidth,
              svgLeft: svgRect?.left ?? 0,
              svgRight: svgRect?.right ?? 0,
              boxLeft: boxRect.left,
              boxRight: boxRect.right,
              mode: box.getAttribute("data-mode"),
              note: document.getElementById("lineage-note")?.textContent ?? "",
            }
          : null,
      overfullLabels: overfull,
      overlappingTicks: overlapping,
    };
  });
}
