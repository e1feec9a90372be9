/**
 * The top of the page: the run's title and status, then the banner that
 * says what failed and why (the stage, its reason, the first lines of its
 * error, links to its details and its log), or how many warnings there are
 * and where; then the run's facts.
 */
import { formatDuration, plural } from "../../format.js";
import { D, S, traceLink } from "./data.js";
import { byId, el, formatTime } from "./dom.js";
import { openStage } from "./stages.js";

/** A link that opens a stage's details (or its log) and scrolls to it. */
export function stageLink(i: number, text: string, part: "details" | "log" = "details"): HTMLAnchorElement {
  const a = el("a", { href: part === "log" ? `#log-${i}` : `#stage-${i}`, class: `to-${part}`, "data-i": i, text });
  a.addEventListener("click", (ev) => {
    ev.preventDefault();
    openStage(i, part);
  });
  return a;
}

function banner(): HTMLElement | null {
  const problems = D.problems;
  const warned = S.map((s, i) => [s, i] as const).filter(([s]) => s.warnings.length > 0);
  const warnings = warned.reduce((n, [s]) => n + s.warnings.length, 0);
  const warningLine = (): HTMLElement | null => {
    if (warnings === 0) return null;
    const line = el("p", { class: "banner-warnings" }, [`${plural(warnings, "warning")} in ${plural(warned.length, "stage")}: `]);
    warned.slice(0, 8).forEach(([s, i], k) => {
      if (k > 0) line.appendChild(document.createTextNode(", "));
      line.appendChild(stageLink(i, `${s.dir} (${s.warnings.length})`));
    });
    if (warned.length > 8) line.appendChild(document.createTextNode(`, and ${warned.length - 8} more`));
    return line;
  };
  const first = problems[0];
  if (!first) {
    if (warnings === 0) return null;
    return el("section", { id: "banner", class: "banner warn", role: "status" }, [warningLine()]);
  }
  const s = S[first.stage]!;
  const box = el("section", { id: "banner", class: `banner s-${first.state}`, role: "alert" });
  box.appendChild(
    el("p", { class: "banner-title" }, [
      el("span", { class: `status s-${first.state}`, text: first.state }),
      " ",
      el("strong", { class: "banner-stage", text: s.dir }),
      problems.length > 1 ? el("span", { class: "muted", text: ` (1 of ${problems.length} stages in trouble)` }) : null,
    ]),
  );
  if (first.reason) box.appendChild(el("p", { class: "banner-reason", text: first.reason }));
  if (first.headline || first.lines.length > 0) {
    const text = [first.headline, ...first.lines].filter((l): l is string => !!l).join("\n");
    box.appendChild(el("pre", { class: "banner-error", text: text + (first.moreLines > 0 ? `\n… ${plural(first.moreLines, "more line")} in its details` : "") }));
  }
  box.appendChild(
    el("p", { class: "banner-links" }, [
      stageLink(first.stage, "details"),
      " · ",
      s.log ? stageLink(first.stage, `stage.log (${plural(s.log.entries.length, "line")})`, "log") : el("span", { class: "muted", text: "no stage.log" }),
    ]),
  );
  if (problems.length > 1) {
    const more = el("p", { class: "banner-more" }, ["Also: "]);
    problems.slice(1, 9).forEach((p, k) => {
      if (k > 0) more.appendChild(document.createTextNode(", "));
      more.appendChild(stageLink(p.stage, `${S[p.stage]!.dir} (${p.state})`));
    });
    if (problems.length > 9) more.appendChild(document.createTextNode(`, and ${problems.length - 9} more`));
    box.appendChild(more);
  }
  const w = warningLine();
  if (w) box.appendChild(w);
  return box;
}

export function header(): void {
  const h = byId("header");
  h.appendChild(
    el("h1", null, [
      "Run report: ",
      D.pipeline || "(unnamed pipeline)",
      " ",
      el("span", { class: `status s-${D.status}`, id: "run-status", text: D.status }),
    ]),
  );
  const b = banner();
  if (b) h.appendChild(b);
  const dl = el("dl", { class: "facts" });
  const fact = (k: string, v: Node | string): void => {
    dl.appendChild(el("dt", { text: k }));
    dl.appendChild(el("dd", null, [v]));
  };
  fact("run id", D.runId || "-");
  fact("started", formatTime(D.startedAt));
  fact("duration", formatDuration(D.durationMs) + (D.status === "running" ? " so far" : ""));
  const t = el("span", null, [traceLink(D.traceId, null)]);
  if (D.traceCount > 1) t.appendChild(el("span", { class: "muted", text: `  (the stages are in ${D.traceCount} traces; each stage links its own)` }));
  fact("trace id", t);
  const counts = new Map<string, number>();
  for (const s of S) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  const order = ["success", "failed", "interrupted", "abandoned", "running", "skipped", "not_run"];
  const c = el("span", { class: "counts" }, [el("span", { text: `${S.length} stages:` })]);
  for (const k of [...order, ...[...counts.keys()].filter((k) => !order.includes(k))]) {
    const n = counts.get(k);
    if (n) c.appendChild(el("span", null, [el("span", { class: `status s-${k}`, text: k }), ` ${n}`]));
  }
  fact("stages", c);
  const entries = S.reduce((n, s) => n + s.inputs.length + s.outputs.length + s.intermediates.length, 0);
  fact("files", `${D.files.length} distinct files, ${entries} tracked entries`);
  fact("run directory", el("code", { text: D.runDir }));
  fact("report made", formatTime(D.generatedAt));
  h.appendChild(dl);
}
