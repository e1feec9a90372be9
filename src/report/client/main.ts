/** The report page's script: draws the run from the JSON block in the page. Bundled into the page by scripts/build-report-client.mjs. */
import { S } from "./data.js";
import { header } from "./header.js";
import { lineage } from "./lineage.js";
import { resources } from "./resources.js";
import { openStage, stages } from "./stages.js";
import { timeline } from "./timeline.js";

declare global {
  interface Window {
    /** When the page was drawn (performance.now()), for measure-big-report.mjs. */
    reportRenderedAt?: number;
  }
}

header();
timeline();
resources();
lineage();
stages();

// A link to #stage-N or #log-N opens that stage.
const m = /^#(stage|log)-(\d+)$/.exec(location.hash);
if (m && S[Number(m[2])]) openStage(Number(m[2]), m[1] === "log" ? "log" : "details");

document.documentElement.setAttribute("data-ready", "1");
requestAnimationFrame(() =>
  requestAnimationFrame(() => {
    window.reportRenderedAt = performance.now();
    document.documentElement.setAttribute("data-painted", "1");
  }),
);
