/** Wall time, CPU time and peak memory of every stage as bars on one scale per column, with the heaviest named above. */
import { formatDuration } from "../../format.js";
import type { ReportStage } from "../report-types.js";
import { S } from "./data.js";
import { byId, el } from "./dom.js";
import { stageLink } from "./header.js";

interface Metric {
  key: "wall" | "cpu" | "rss";
  title: string;
  value: (s: ReportStage) => number | null;
  text: (v: number) => string;
}

const METRICS: readonly Metric[] = [
  { key: "wall", title: "wall time", value: (s) => (s.start !== null && s.end !== null ? (s.durationMs ?? s.end - s.start) : null), text: formatDuration },
  { key: "cpu", title: "CPU (user + system)", value: (s) => s.cpuMs, text: formatDuration },
  { key: "rss", title: "peak RSS", value: (s) => s.rssMb, text: (v) => `${v < 10 ? v.toFixed(1) : Math.round(v)} MB` },
];

export function resources(): void {
  const box = byId("resources");
  const columns = METRICS.map((m) => {
    const values = S.map(m.value);
    let top = -1;
    values.forEach((v, i) => {
      if (v !== null && (top < 0 || v > values[top]!)) top = i;
    });
    return { m, values, max: top < 0 ? 0 : values[top]!, top };
  });
  const heaviest = el("p", { class: "heaviest", id: "resources-heaviest" }, ["Heaviest: "]);
  let any = false;
  for (const c of columns) {
    if (c.top < 0) continue;
    if (any) heaviest.appendChild(document.createTextNode("; "));
    any = true;
    heaviest.append(`${c.m.title} `, stageLink(c.top, S[c.top]!.dir), ` (${c.m.text(c.max)})`);
  }
  if (!any) {
    box.appendChild(el("p", { class: "muted", text: "No stage recorded its timing or resources." }));
    return;
  }
  box.appendChild(heaviest);
  const chart = el("div", { class: "res-chart", id: "resources-chart", role: "table" });
  chart.appendChild(el("div", { class: "res-row head", role: "row" }, [el("span", { text: "stage" }), ...columns.map((c) => el("span", { text: c.m.title }))]));
  S.forEach((s, i) => {
    const row = el("div", { class: "res-row", role: "row", "data-stage": s.dir }, [el("span", { class: "res-label", title: s.dir, text: s.dir })]);
    for (const c of columns) {
      const v = c.values[i];
      const cell = el("span", { class: `res-cell ${c.m.key}${i === c.top ? " top" : ""}`, "data-value": v ?? "" });
      if (v === null || v === undefined) cell.appendChild(el("span", { class: "res-text muted", text: "-" }));
      else {
        const bar = el("span", { class: "res-bar" });
        bar.style.width = `${c.max > 0 ? Math.max(1, (v / c.max) * 100) : 0}%`;
        cell.append(bar, el("span", { class: "res-text", text: c.m.text(v) }));
      }
      row.appendChild(cell);
    }
    chart.appendChild(row);
  });
  box.appendChild(chart);
}
