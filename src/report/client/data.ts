/** The run's data, read once from the page's JSON block, and small views of it shared by the sections. */
import { FILE_FLAG, type FileFlagName, type ReportData, type ReportStage } from "../report-types.js";
import { byId, el } from "./dom.js";

export const D: ReportData = JSON.parse(byId("report-data").textContent ?? "null") as ReportData;
export const S = D.stages;
export const F = D.files;

export const FLAG_NAMES: readonly FileFlagName[] = ["missing", "untracked", "external", "modified"];
export { FILE_FLAG };

/** The states that make a run need attention. */
export const PROBLEM_STATES: ReadonlySet<string> = new Set(["failed", "interrupted", "abandoned"]);

export function stageLabel(s: ReportStage | undefined): string {
  return s ? s.dir : "?";
}

export function flagList(f: number): HTMLElement[] {
  return FLAG_NAMES.filter((n) => f & FILE_FLAG[n]).map((n) => el("span", { class: `flag ${n}`, text: n }));
}

function jaegerHref(traceId: string | null, spanId: string | null): string | null {
  if (!D.jaegerUrl || !traceId) return null;
  return `${D.jaegerUrl}/trace/${encodeURIComponent(traceId)}${spanId ? `?uiFind=${encodeURIComponent(spanId)}` : ""}`;
}

/** A trace id, linked to Jaeger when the report was given its URL. */
export function traceLink(traceId: string | null, spanId: string | null): HTMLElement {
  const href = jaegerHref(traceId, spanId);
  if (!href) return el("code", { text: traceId || "-" });
  return el("a", { href, target: "_blank", rel: "noopener noreferrer", class: "mono", id: spanId ? null : "trace-link", text: traceId });
}

/** A recorded value as text. */
export function valueText(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}
