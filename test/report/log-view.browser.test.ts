// A failed command's Python traceback in the report: on the first screen in
// the banner, and whole in the stage's log view, which filters by level and
// by text and says when the log was cut.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRun } from "../../src/run/load-run.js";
import { renderReport } from "../../src/report/report.js";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { launchChromium, measure, openReport, type Chromium } from "./browser.js";
import { copyRun, removeCopies } from "./support.js";

const SCRIPT = `
import logging
logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(message)s")
logging.debug("opening rows.csv")
logging.info("reading rows")
logging.warning("row 3 is empty")
def parse(x):
    raise ValueError("bad input: " + x)
def main():
    parse("abc")
main()
`;

let browser: Chromium;
let run: string;
const dirs: string[] = [];

function reportUrl(runDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), "stagetrace-logview-"));
  dirs.push(dir);
  writeFileSync(join(dir, "report.html"), renderReport(loadRun(runDir)));
  return pathToFileURL(join(dir, "report.html")).href;
}

beforeAll(async () => {
  browser = await launchChromium();
  run = join(tempDir(), "run");
  const r = await runCli(["exec", "--stage", "crunch", "--", "python3", "-c", SCRIPT], { env: { OUTPUT_DIR: run } });
  expect(r.code, r.stderr).toBe(1);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  removeCopies();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("a failed Python command in the report", () => {
  it("shows its traceback in the banner, on a phone's first screen", async () => {
    const { page, errors } = await openReport(browser, reportUrl(run), { width: 390, height: 844 });
    const layout = await measure(page);
    expect(layout.banner!.bottom).toBeLessThanOrEqual(layout.innerHeight);
    const text = (await page.textContent("#banner .banner-error"))!;
    expect(text.split("\n")).toEqual([
      "ValueError: bad input: abc",
      "Traceback (most recent call last):",
      '  File "<string>", line 11, in <module>',
      '  File "<string>", line 10, in main',
      '  File "<string>", line 8, in parse',
      "ValueError: bad input: abc",
    ]);
    expect(await page.textContent("#banner .banner-reason")).toBe("ValueError: bad input: abc (command exited with code 1)");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("keeps the traceback as one log entry, and filters the log by level and by text", async () => {
    const { page, errors } = await openReport(browser, reportUrl(run), { width: 1400, height: 900 });
    await page.click("#banner a.to-log");
    const view = "#log-0";
    const entries = () => page.$$eval(`${view} .log-entry`, (es) => es.map((e) => [e.querySelector(".log-level")!.textContent, e.querySelector(".log-msg")!.textContent]));
    const all = await entries();
    expect(all.map(([, m]) => m!.split("\n")[0])).toEqual(
      expect.arrayContaining(["DEBUG opening rows.csv", "INFO reading rows", "WARNING row 3 is empty", "Traceback (most recent call last):"]),
    );
    const traceback = all.find(([, m]) => m!.startsWith("Traceback"))!;
    expect(traceback[0]).toBe("ERROR");
    expect(traceback[1]).toContain('  File "<string>", line 8, in parse\nValueError: bad input: abc');

    await page.selectOption(`${view} .log-level-filter`, "50");
    const errorsOnly = await entries();
    expect(errorsOnly.length).toBeGreaterThanOrEqual(2);
    expect(errorsOnly.every(([l]) => l === "ERROR")).toBe(true);
    expect(errorsOnly.some(([, m]) => m!.startsWith("Traceback (most recent call last):\n"))).toBe(true);
    expect(await page.textContent(`${view} .log-count`)).toBe(`${errorsOnly.length} of ${all.length} records`);

    await page.selectOption(`${view} .log-level-filter`, "0");
    await page.fill(`${view} .log-text-filter`, "in parse");
    await page.waitForFunction((v) => document.querySelectorAll(`${v} .log-entry`).length === 1, view);
    expect((await entries())[0]![1]).toMatch(/^Traceback \(most recent call last\):\n[^]*ValueError: bad input: abc$/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("says when a stage.log was cut, how big it is and where the whole file is", async () => {
    const copy = copyRun(run);
    const path = join(copy, "crunch", "stage.log");
    const line = (i: number) => JSON.stringify({ level: "INFO", time: i, msg: `progress ${i} ${"x".repeat(300)}` });
    writeFileSync(path, `${Array.from({ length: 10_000 }, (_, i) => line(i)).join("\n")}\n`);
    const { page } = await openReport(browser, reportUrl(copy), { width: 1400, height: 900 });
    await page.click("#banner a.to-log");
    expect(await page.textContent("#log-0 .log-cut")).toMatch(new RegExp(`^stage\\.log is 3\\.\\d MB; the report keeps its last 1\\.0 MB \\(\\d+ records\\)\\. The whole file: ${path.replace(/[.]/g, "\\.")}$`));
    // A long log draws its last 1000 records and counts the rest.
    expect(await page.$$eval("#log-0 .log-entry", (e) => e.length)).toBe(1000);
    await page.close();
  });
});
