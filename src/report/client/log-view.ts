/**
 * A stage's stage.log in the page: its records (the last ones, when the file
 * was bigger than the report keeps), filterable by level and by text. A
 * record that holds a traceback or an error's stack is one entry, so a
 * filter keeps or drops it whole.
 */
import { formatSize, plural } from "../../format.js";
import type { ReportLog, ReportLogEntry } from "../report-types.js";
import { el } from "./dom.js";

/** Entries drawn at once; a filter narrows them further. */
const MAX_DRAWN = 1000;

const RANK: Record<string, number> = { TRACE: 10, DEBUG: 20, INFO: 30, NOTICE: 30, WARN: 40, WARNING: 40, ERROR: 50, ERR: 50, CRITICAL: 60, FATAL: 60 };

export function levelRank(level: string): number {
  return RANK[level.toUpperCase()] ?? 30;
}

function levelClass(level: string): string {
  const r = levelRank(level);
  return r >= 50 ? "lv-error" : r >= 40 ? "lv-warn" : r <= 20 ? "lv-debug" : "lv-info";
}

function time(t: number | null): string {
  return t === null ? "" : new Date(t).toISOString().slice(11, 23);
}

function entryView(e: ReportLogEntry): HTMLElement {
  return el("div", { class: `log-entry ${levelClass(e.l)}` }, [
    el("span", { class: "log-time", text: time(e.t) }),
    el("span", { class: "log-level", text: e.l }),
    el("span", { class: "log-body" }, [el("span", { class: "log-msg", text: e.m }), e.x ? el("span", { class: "log-extra", text: ` ${e.x}` }) : null]),
    e.s ? el("pre", { class: "log-stack", text: e.s }) : null,
  ]);
}

export function logView(log: ReportLog, id: string): HTMLElement {
  const box = el("div", { class: "log-view", id });
  const level = el("select", { class: "log-level-filter", "aria-label": "lowest level shown" });
  for (const [value, label] of [["0", "all levels"], ["20", "DEBUG and up"], ["30", "INFO and up"], ["40", "WARN and up"], ["50", "ERROR and up"]] as const) {
    level.appendChild(el("option", { value, text: label }));
  }
  const text = el("input", { type: "search", class: "log-text-filter", placeholder: "filter the log by text", "aria-label": "filter the log by text" });
  const count = el("span", { class: "muted log-count" });
  box.appendChild(el("div", { class: "controls" }, [level, text, count]));
  if (log.shownBytes < log.bytes) {
    box.appendChild(
      el("p", { class: "log-cut muted", text: `stage.log is ${formatSize(log.bytes)}; the report keeps its last ${formatSize(log.shownBytes)} (${plural(log.entries.length, "record")}). The whole file: ${log.path}` }),
    );
  }
  const list = el("div", { class: "log-entries" });
  box.appendChild(list);
  const draw = (): void => {
    const min = Number(level.value);
    const q = text.value.toLowerCase();
    const shown = log.entries.filter((e) => levelRank(e.l) >= min && (!q || `${e.m} ${e.x} ${e.s}`.toLowerCase().includes(q)));
    list.textContent = "";
    const frag = document.createDocumentFragment();
    for (const e of shown.slice(-MAX_DRAWN)) frag.appendChild(entryView(e));
    list.appendChild(frag);
    count.textContent =
      shown.length === log.entries.length
        ? plural(log.entries.length, "record")
        : `${shown.length} of ${log.entries.length} records${shown.length > MAX_DRAWN ? ` (the last ${MAX_DRAWN} drawn)` : ""}`;
    if (shown.length === 0) list.appendChild(el("p", { class: "muted", text: "no record matches" }));
  };
  let timer = 0;
  text.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(draw, 120);
  });
  level.addEventListener("change", draw);
  draw();
  return box;
}
