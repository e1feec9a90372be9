/** One expandable section per stage, built the first time it opens: facts, errors, warnings, config, files, resources, log. */
import { errorHeadline, formatDuration, formatSize } from "../../format.js";
import type { RecordedValue } from "../../types.js";
import type { ReportEntry } from "../report-types.js";
import { FILE_FLAG, F, flagList, PROBLEM_STATES, S, traceLink, valueText } from "./data.js";
import { byId, el, formatTime, shortHash } from "./dom.js";
import { logView } from "./log-view.js";
import { virtualList } from "./vlist.js";

/** File lists longer than this are virtualised. */
const PLAIN_LIST_MAX = 200;

type Role = "inputs" | "outputs" | "intermediates";

function kvTable(pairs: [string, RecordedValue][]): HTMLElement {
  if (pairs.length === 0) return el("p", { class: "muted", text: "none" });
  const t = el("table", { class: "kv" });
  for (const [k, v] of pairs)
    t.appendChild(el("tr", null, [el("td", { class: "mono", text: k }), el("td", { class: "mono", text: valueText(v) })]));
  return t;
}

function entryRow(e: ReportEntry, role: Role, i: number): HTMLElement {
  const f = F[e[0]]!;
  const lin: string[] = [];
  if (role === "inputs") {
    if (f.by >= 0 && f.by !== i) lin.push(`from ${S[f.by]!.dir}`);
    else if (f.f & FILE_FLAG.external) lin.push("from outside the run's stages");
  } else {
    const others = f.to.filter((t) => t !== i);
    lin.push(others.length ? `→ ${others.map((t) => S[t]!.dir).join(", ")}` : "not consumed");
  }
  let meta = e[2] ? JSON.stringify(e[2]) : "";
  if (role === "intermediates") meta = (e[3] ? "retained" : "temporary") + (e[4] ? ` (${e[4]})` : "") + (meta ? ` ${meta}` : "");
  return el("div", { class: "frow ent", "data-path": f.p }, [
    el("span", { class: "mono", title: f.p, text: f.p }),
    el("span", { text: e[1] || "" }),
    el("span", { text: formatSize(f.s) }),
    el("span", { class: "mono", title: f.h || "", text: shortHash(f.h) }),
    el("span", { title: lin.join(" "), text: lin.join(" ") }, flagList(f.f & (role === "inputs" ? 15 : FILE_FLAG.missing))),
    el("span", { class: "mono", title: meta, text: meta }),
  ]);
}

function entryList(list: ReportEntry[], role: Role, i: number): HTMLElement {
  if (list.length === 0) return el("p", { class: "muted", text: "none" });
  const box = el("div", { class: `files ${role}` });
  box.appendChild(
    el(
      "div",
      { class: "frow ent head" },
      ["path", "type", "size", "hash", "lineage", "metadata"].map((t) => el("span", { text: t })),
    ),
  );
  if (list.length <= PLAIN_LIST_MAX) {
    for (const e of list) {
      const r = entryRow(e, role, i);
      r.style.height = "22px";
      box.appendChild(r);
    }
  } else {
    const v = el("div");
    box.appendChild(v);
    virtualList(v, 22, list.length, (k) => entryRow(list[k]!, role, i));
  }
  return el("div", { class: "hscroll" }, [box]);
}

function stageBody(i: number): HTMLElement {
  const s = S[i]!;
  const b = el("div", { class: "stage-body" });
  const dl = el("dl", { class: "facts" });
  const fact = (k: string, v: Node | string | null): void => {
    if (v === null || v === "") return;
    dl.appendChild(el("dt", { text: k }));
    dl.appendChild(el("dd", null, [v]));
  };
  fact("status", el("span", { class: `status s-${s.state}`, text: s.state }));
  fact("reason", s.reason);
  fact("problem", s.problem);
  fact("started", s.startedAt ? formatTime(s.startedAt) : null);
  fact("ended", s.endedAt ? formatTime(s.endedAt) : null);
  fact("duration", s.start !== null ? formatDuration(s.durationMs) : null);
  if (s.pid !== null || s.host)
    fact("process", `pid ${s.pid ?? "?"} on ${s.host || "?"}${s.exitCode !== null ? `, exit code ${s.exitCode}` : ""}`);
  if (s.command.length) fact("command", el("code", { text: s.command.join(" ") }));
  if (s.traceId) fact("trace / span", el("span", null, [traceLink(s.traceId, s.spanId), " / ", el("code", { text: s.spanId || "-" })]));
  b.appendChild(dl);
  if (s.errors.length) {
    b.appendChild(el("h3", { text: `Errors (${s.errors.length})` }));
    for (const e of s.errors) {
      b.appendChild(
        el("div", { class: "err" }, [
          el("div", { class: "err-head" }, [
            el("span", { class: "err-type", text: e.type }),
            ": ",
            // A message that starts with its type (Python's "ValueError: ...") is shown without the repeat.
            el("span", {
              class: "err-message",
              text: e.message.startsWith(`${e.type}: `) ? e.message.slice(e.type.length + 2) : e.message,
            }),
          ]),
          el("div", { class: "muted", text: formatTime(e.timestamp) }),
          e.stack ? el("pre", { class: "stack", text: e.stack }) : el("p", { class: "muted", text: "no stack recorded" }),
        ]),
      );
    }
  }
  if (s.warnings.length) {
    b.appendChild(el("h3", { text: `Warnings (${s.warnings.length})` }));
    b.appendChild(
      el(
        "ul",
        { class: "warnings" },
        s.warnings.map((w) => el("li", { text: w.message })),
      ),
    );
  }
  b.appendChild(el("h3", { text: "Config" }));
  b.appendChild(kvTable(s.config));
  b.appendChild(el("h3", { text: `Inputs (${s.inputs.length})` }));
  b.appendChild(entryList(s.inputs, "inputs", i));
  b.appendChild(el("h3", { text: `Outputs (${s.outputs.length})` }));
  b.appendChild(entryList(s.outputs, "outputs", i));
  b.appendChild(el("h3", { text: `Intermediates (${s.intermediates.length})` }));
  b.appendChild(entryList(s.intermediates, "intermediates", i));
  b.appendChild(el("h3", { text: "Resources" }));
  b.appendChild(kvTable(s.resources));
  b.appendChild(el("h3", { text: "stage.log" }));
  b.appendChild(s.log ? logView(s.log, `log-${i}`) : el("p", { class: "muted", id: `log-${i}`, text: "no stage.log found" }));
  return b;
}

function build(d: HTMLElement): void {
  if (d.getAttribute("data-built")) return;
  d.setAttribute("data-built", "1");
  d.appendChild(stageBody(Number(d.getAttribute("data-i"))));
}

/** Opens stage `i`'s details and, unless `part` is null, scrolls to them or to its log. */
export function openStage(i: number, part: "details" | "log" | null): void {
  const d = document.getElementById(`stage-${i}`) as HTMLDetailsElement | null;
  if (!d) return;
  build(d);
  d.open = true;
  document.querySelector("details.stage.highlight")?.classList.remove("highlight");
  d.classList.add("highlight");
  if (part === "log") document.getElementById(`log-${i}`)?.scrollIntoView({ block: "start" });
  else if (part === "details") d.scrollIntoView({ block: "start" });
}

export function stages(): void {
  const box = byId("stage-list");
  const frag = document.createDocumentFragment();
  S.forEach((s, i) => {
    const e = s.errors[0];
    const summary = el("summary", null, [
      el("span", { class: `status s-${s.state}`, text: s.state }),
      " ",
      el("strong", { text: s.dir }),
      " ",
      el("span", {
        class: "muted",
        text: `${s.start !== null ? `${formatDuration(s.durationMs)}, ` : ""}${s.inputs.length} in, ${s.outputs.length} out${s.warnings.length ? `, ${s.warnings.length} warning(s)` : ""}`,
      }),
      e ? el("span", { class: "summary-err", text: errorHeadline(e.type, e.message).slice(0, 200) }) : null,
    ]);
    const d = el("details", { class: `stage s-${s.state}`, id: `stage-${i}`, "data-i": i, "data-stage": s.dir, "data-status": s.state }, [
      summary,
    ]);
    d.addEventListener("toggle", () => {
      if (d.open) build(d);
    });
    frag.appendChild(d);
  });
  box.appendChild(frag);
  const first = S.findIndex((s) => PROBLEM_STATES.has(s.state));
  if (first >= 0) openStage(first, null);
}
