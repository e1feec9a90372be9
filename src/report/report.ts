/**
 * `renderReport(run)`: one self-contained HTML file for a run. The run's
 * data is embedded as JSON and the page is built in the browser by an
 * inline script (src/report/client/, bundled at build time into
 * dist/report-client/report.js); nothing is fetched. A
 * Content-Security-Policy allows no network access at all and only the
 * report's own script (by its hash).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { StagetraceError } from "../errors.js";
import { packageRoot } from "../package-root.js";
import type { LoadedRun } from "../run/load-run.js";
import { buildReportData } from "./report-data.js";
import type { ReportData } from "./report-types.js";
import { REPORT_CSS } from "./report-style.js";

export { buildReportData } from "./report-data.js";
export type { ReportData } from "./report-types.js";

let script: string | undefined;

/** The page's script, as `npm run build` bundled it. */
export function reportScript(): string {
  if (script !== undefined) return script;
  const path = join(packageRoot(), "dist", "report-client", "report.js");
  try {
    script = readFileSync(path, "utf8");
  } catch (err) {
    throw new StagetraceError("IO_ERROR", `cannot read the report's page script ${path} (${(err as Error).message}); build it with npm run build`, { cause: err });
  }
  return script;
}

export interface ReportOptions {
  /** Jaeger's base URL (e.g. `http://localhost:16686`): the trace ids become links to `<url>/trace/<trace id>`. */
  jaegerUrl?: string;
  /** When the report is made (epoch ms): the end of the bars of stages still running. Default: now. */
  now?: number;
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text for HTML element content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * JSON that is safe inside a `<script>` element: no `<`, `>` or `&` can end
 * the element or open a comment, and U+2028/U+2029 are escaped too.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

const LEGEND = `
<dl class="legend">
  <dt>edge stage → file</dt><dd>the stage tracked the file as an output (or an intermediate that a later stage read).</dd>
  <dt>edge file → stage</dt><dd>the stage tracked the file as an input. A file is joined to its producer by its path relative
    to the run directory and by its content hash: the producer is the latest earlier stage whose output has that path and
    the same hash (or either has no hash).</dd>
  <dt><span class="flag missing">missing</span></dt><dd>the file did not exist when a stage tracked it (a missing input, or an output
    the stage tracked but never wrote).</dd>
  <dt><span class="flag untracked">untracked</span></dt><dd>an untracked output: a stage read the file from another stage's directory,
    but that stage did not track it as an output or intermediate. The dashed edge points from the stage whose directory holds it.</dd>
  <dt><span class="flag external">external</span></dt><dd>read from outside every stage directory (the run directory itself, or
    elsewhere), and no stage of the run produced it.</dd>
  <dt><span class="flag modified">modified</span></dt><dd>a stage produced a file at this path, but the consumer read different
    content (another hash): the file changed in between.</dd>
</dl>`;

function pageTitle(data: ReportData): string {
  return `${data.pipeline ?? "run"} ${data.runId ?? ""} [${data.status}] · stagetrace report`;
}

/** The report's HTML page. */
export function renderReport(run: LoadedRun, options: ReportOptions = {}): string {
  const data = buildReportData(run, options);
  const js = reportScript();
  const scriptHash = createHash("sha256").update(js, "utf8").digest("base64");
  const csp = [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    `script-src 'sha256-${scriptHash}'`,
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="stagetrace report">
<title>${escapeHtml(pageTitle(data))}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header id="header"></header>
<noscript><p>This report needs JavaScript (inline, no network access) to draw the run.</p></noscript>
<h2>Timeline</h2>
<div id="timeline"></div>
<div id="tip" role="tooltip"></div>
<h2>Resources</h2>
<div id="resources"></div>
<h2>File lineage</h2>
<p id="lineage-summary"></p>
<details><summary>How to read the lineage</summary>${LEGEND}</details>
<p id="lineage-note"></p>
<div id="lineage-graph"></div>
<div id="lineage-stages"></div>
<div id="lineage-files"></div>
<h2>Stages</h2>
<div id="stage-list"></div>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${js}</script>
</body>
</html>
`;
}
