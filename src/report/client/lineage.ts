/**
 * The file lineage: which stage produced each file and which stages read it.
 * The graph is laid out for the width of its box, top to bottom in stage
 * order (each stage with its outputs beside it, or below it on a narrow
 * screen), so it never needs sideways scrolling; it grows downwards and
 * says so when it is taller than its box. Big runs get a stage-to-stage arc
 * diagram, laid out the same way, and a table.
 */
import { formatSize, plural } from "../../format.js";
import { F, FILE_FLAG, FLAG_NAMES, flagList, S } from "./data.js";
import { byId, el, onWidthChange, pad2, shortHash, svgEl, svgTitle } from "./dom.js";
import { openStage } from "./stages.js";
import { virtualList } from "./vlist.js";

/** Up to this many files, each file is a node of the graph. */
const DETAIL_GRAPH_MAX_FILES = 300;
/** Up to this many stages, a bigger run is drawn as arcs between stages. */
const ARC_GRAPH_MAX_STAGES = 1000;
const PAD = 8;
const NODEH = 22;
const ROWH = 28;
const GAP = 10;
/** The width of one character of the graph's 11px monospace labels, near enough. */
const CHAR_W = 6.7;

interface StageEdge {
  a: number;
  b: number;
  n: number;
  f: number;
}

/** Files that take part in the lineage: every input and output; an intermediate only when a stage consumed it. */
function lineageFiles(): number[] {
  const isInter = new Uint8Array(F.length);
  const isOut = new Uint8Array(F.length);
  for (const s of S) {
    for (const e of s.intermediates) isInter[e[0]] = 1;
    for (const e of s.outputs) isOut[e[0]] = 1;
  }
  const ids: number[] = [];
  F.forEach((f, i) => {
    if (!isInter[i] || isOut[i] || f.to.length > 0) ids.push(i);
  });
  return ids;
}

function stageEdges(): StageEdge[] {
  const map = new Map<string, StageEdge>();
  for (const f of F) {
    if (f.by < 0) continue;
    for (const t of f.to) {
      const k = `${f.by}>${t}`;
      let e = map.get(k);
      if (!e) map.set(k, (e = { a: f.by, b: t, n: 0, f: 0 }));
      e.n++;
      e.f |= f.f;
    }
  }
  return [...map.values()].sort((x, y) => x.a - y.a || x.b - y.b);
}

function edgeClass(flags: number): string {
  if (flags & FILE_FLAG.missing) return "edge missing";
  if (flags & FILE_FLAG.untracked) return "edge untracked";
  if (flags & FILE_FLAG.modified) return "edge modified";
  return "edge";
}

/** A label cut to fit `width` px, keeping its end (a file name's end is what tells files apart). */
function fit(text: string, width: number): string {
  const n = Math.max(4, Math.floor((width - 10) / CHAR_W));
  return text.length > n ? `…${text.slice(text.length - n + 1)}` : text;
}

function boxWidth(box: HTMLElement): number {
  return Math.max(260, box.clientWidth - 2);
}

function node(parent: SVGElement, kind: "stage" | "file", key: string, label: string, title: string, cls: string, x: number, y: number, w: number, i: number | null): void {
  const g = svgEl("g", { class: `node ${kind} ${cls}`, transform: `translate(${x},${y})`, "data-id": key });
  if (i !== null) g.setAttribute("data-i", String(i));
  g.appendChild(svgEl("rect", { width: w, height: NODEH, rx: kind === "stage" ? 4 : 2 }));
  const tx = svgEl("text", { x: 6, y: 15 });
  tx.textContent = label;
  g.appendChild(tx);
  g.appendChild(svgTitle(title));
  parent.appendChild(g);
}

/** An arrowhead for the end of every edge (the direction data flows). */
function arrowMarker(): SVGDefsElement {
  const defs = svgEl("defs");
  const m = svgEl("marker", { id: "arrow", viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  m.appendChild(svgEl("path", { d: "M0,0 L8,4 L0,8 z", class: "arrowhead" }));
  defs.appendChild(m);
  return defs;
}

function edge(parent: SVGElement, from: string, to: string, cls: string, d: string, title: string, width?: number): void {
  const p = svgEl("path", { class: cls, d, "data-from": from, "data-to": to, "marker-end": "url(#arrow)" });
  if (width !== undefined) p.setAttribute("stroke-width", String(width));
  p.appendChild(svgTitle(title));
  parent.appendChild(p);
}

/** Hovering a node lights up its edges. */
function highlightOnHover(svg: SVGSVGElement): void {
  let lit: Element[] = [];
  svg.addEventListener("mouseover", (ev) => {
    const g = ev.target instanceof Element ? ev.target.closest(".node") : null;
    for (const e of lit) e.classList.remove("hl");
    lit = [];
    if (!g) return;
    const id = g.getAttribute("data-id");
    lit = [...svg.querySelectorAll("path.edge")].filter((p) => p.getAttribute("data-from") === id || p.getAttribute("data-to") === id);
    for (const e of lit) e.classList.add("hl");
  });
  svg.addEventListener("click", (ev) => {
    const g = ev.target instanceof Element ? ev.target.closest(".node.stage") : null;
    if (g) openStage(Number(g.getAttribute("data-i")), "details");
  });
}

/** Every file a node: a band per stage, the stage at the left and the files it produced beside it (below it when narrow). */
function fileGraph(W: number, ids: number[]): SVGSVGElement {
  const wide = W >= 560;
  const stageW = wide ? Math.min(220, Math.floor(W * 0.24)) : W - 2 * PAD - 24;
  const fileX0 = wide ? PAD + stageW + 48 : PAD + 20;
  const cols = wide ? Math.max(1, Math.floor((W - fileX0 - PAD + GAP) / (170 + GAP))) : 1;
  const fileW = wide ? Math.min(260, Math.floor((W - fileX0 - PAD - (cols - 1) * GAP) / cols)) : W - fileX0 - PAD - 24;

  const byBand = new Map<number, number[]>(); // band -1: files from outside the stages
  for (const id of ids) {
    const f = F[id]!;
    const band = f.by >= 0 ? f.by : -1;
    if (f.by < 0 && f.to.length === 0) continue;
    const list = byBand.get(band) ?? [];
    list.push(id);
    byBand.set(band, list);
  }
  const stagePos: { x: number; y: number }[] = [];
  const filePos = new Map<number, { x: number; y: number }>();
  const separators: number[] = [];
  let y = PAD;
  let outsideLabelY = -1;
  const place = (files: number[], top: number): number => {
    files.forEach((id, k) => filePos.set(id, { x: fileX0 + (k % cols) * (fileW + GAP), y: top + Math.floor(k / cols) * ROWH }));
    return Math.ceil(files.length / cols) * ROWH;
  };
  const outside = byBand.get(-1) ?? [];
  if (outside.length > 0) {
    outsideLabelY = y;
    y += wide ? Math.max(ROWH, place(outside, y)) : ROWH + place(outside, y + ROWH);
    separators.push(y + 2);
    y += 8;
  }
  S.forEach((_s, i) => {
    stagePos[i] = { x: PAD, y };
    const files = byBand.get(i) ?? [];
    const h = wide ? Math.max(ROWH, place(files, y)) : ROWH + place(files, y + ROWH);
    y += h;
    separators.push(y + 2);
    y += 8;
  });
  const H = y + PAD;
  const svg = svgEl("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, id: "lineage-svg", "data-layout": wide ? "wide" : "narrow" });
  svg.appendChild(arrowMarker());
  const gB = svgEl("g", { class: "bands" });
  const gE = svgEl("g", { class: "edges" });
  const gN = svgEl("g", { class: "nodes" });
  svg.append(gB, gE, gN);
  for (const sy of separators.slice(0, -1)) gB.appendChild(svgEl("line", { x1: PAD, x2: W - PAD, y1: sy, y2: sy, class: "band-line" }));
  if (outsideLabelY >= 0) {
    const t = svgEl("text", { x: PAD + 4, y: outsideLabelY + 15, class: "outside-label" });
    t.textContent = fit("outside the run's stages", wide ? stageW : W);
    gB.appendChild(t);
  }
  const mid = NODEH / 2;
  for (const id of ids) {
    const f = F[id]!;
    const fp = filePos.get(id);
    if (!fp) continue;
    const fk = `file:${f.p}`;
    if (f.by >= 0) {
      const sp = stagePos[f.by]!;
      const cls = edgeClass(f.f & (FILE_FLAG.untracked | FILE_FLAG.missing));
      const d = wide
        ? `M${sp.x + stageW},${sp.y + mid} C${sp.x + stageW + 30},${sp.y + mid} ${fp.x - 30},${fp.y + mid} ${fp.x},${fp.y + mid}`
        : `M${sp.x + 10},${sp.y + NODEH} V${fp.y + mid} H${fp.x}`;
      edge(gE, `stage:${S[f.by]!.dir}`, fk, cls, d, `${S[f.by]!.dir} → ${f.p}`);
    }
    for (const t of f.to) {
      const tp = stagePos[t]!;
      const cls = edgeClass(f.f & (FILE_FLAG.missing | FILE_FLAG.modified));
      let d: string;
      if (wide) {
        // From the file's bottom down to the top of the consumer, near its right end.
        const x1 = fp.x + Math.min(fileW / 2, 40);
        const x2 = tp.x + stageW - 14;
        const down = tp.y > fp.y;
        const y1 = down ? fp.y + NODEH : fp.y;
        const y2 = down ? tp.y : tp.y + NODEH;
        const k = Math.max(14, Math.min(70, Math.abs(y2 - y1) / 2)) * (down ? 1 : -1);
        d = `M${x1},${y1} C${x1},${y1 + k} ${x2},${y2 - k} ${x2},${y2}`;
      } else {
        const x1 = fp.x + fileW;
        const x2 = tp.x + stageW;
        d = `M${x1},${fp.y + mid} C${x1 + 22},${fp.y + mid} ${x2 + 22},${tp.y + mid} ${x2},${tp.y + mid}`;
      }
      edge(gE, fk, `stage:${S[t]!.dir}`, cls, d, `${f.p} → ${S[t]!.dir}`);
    }
  }
  S.forEach((s, i) => {
    const p = stagePos[i]!;
    node(gN, "stage", `stage:${s.dir}`, fit(s.dir, stageW), `${s.dir} [${s.state}]`, `s-${s.state}`, p.x, p.y, stageW, i);
  });
  for (const id of ids) {
    const f = F[id]!;
    const p = filePos.get(id);
    if (!p) continue;
    const fl = FLAG_NAMES.filter((n) => f.f & FILE_FLAG[n]);
    const title = `${f.p}\n${formatSize(f.s)}  ${f.h || "no hash"}${fl.length ? `\n${fl.join(", ")}` : ""}`;
    node(gN, "file", `file:${f.p}`, fit(f.p.split("/").pop() || f.p, fileW), title, fl.join(" "), p.x, p.y, fileW, null);
  }
  highlightOnHover(svg);
  return svg;
}

/** Stage to stage: one row per stage, arcs to the right of the labels from producer to consumer, wider for more files. */
function arcGraph(W: number): SVGSVGElement {
  const es = stageEdges();
  const RH = 24;
  const labelW = Math.min(280, Math.floor(W * 0.45));
  const x0 = PAD + labelW + 4;
  const room = W - x0 - PAD;
  const H = PAD * 2 + S.length * RH;
  const svg = svgEl("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, id: "lineage-svg", "data-layout": "arcs" });
  svg.appendChild(arrowMarker());
  const gE = svgEl("g", { class: "edges" });
  const gN = svgEl("g", { class: "nodes" });
  svg.append(gE, gN);
  const yOf = (i: number): number => PAD + i * RH + NODEH / 2;
  // Longer arcs bulge further, on a log scale, so neighbours stay close to the labels.
  const scale = Math.log2(1 + Math.max(1, S.length - 1));
  for (const e of es) {
    const w = 16 + (room - 16) * (Math.log2(1 + Math.abs(e.b - e.a)) / scale);
    const y1 = yOf(e.a);
    const y2 = yOf(e.b);
    const d = `M${x0},${y1} C${x0 + w},${y1} ${x0 + w},${y2} ${x0},${y2}`;
    edge(gE, `stage:${S[e.a]!.dir}`, `stage:${S[e.b]!.dir}`, edgeClass(e.f), d, `${S[e.a]!.dir} → ${S[e.b]!.dir}: ${plural(e.n, "file")}`, Math.min(6, 1 + Math.log(e.n)));
  }
  S.forEach((s, i) => {
    const label = (s.number !== null ? `${pad2(s.number)} ` : "") + s.name;
    node(gN, "stage", `stage:${s.dir}`, fit(label, labelW), `${s.dir} [${s.state}]`, `s-${s.state}`, PAD, PAD + i * RH, labelW, i);
  });
  highlightOnHover(svg);
  return svg;
}

function stageTable(): void {
  const es = stageEdges();
  const box = byId("lineage-stages");
  box.appendChild(el("h3", { text: `Stage to stage (${es.length} pairs)` }));
  const table = el("div", { class: "table s2s-table" });
  table.appendChild(el("div", { class: "frow s2s head" }, ["producer", "consumer", "files", "flags"].map((t) => el("span", { text: t }))));
  const list = el("div");
  table.appendChild(list);
  box.appendChild(el("div", { class: "hscroll" }, [table]));
  virtualList(list, 22, es.length, (k) => {
    const e = es[k]!;
    return el("div", { class: "frow s2s" }, [el("span", { text: S[e.a]!.dir }), el("span", { text: S[e.b]!.dir }), el("span", { text: String(e.n) }), el("span", null, flagList(e.f))]);
  });
}

function fileTable(ids: number[]): void {
  const box = byId("lineage-files");
  const filter = el("input", { type: "search", placeholder: "filter by path or hash", id: "file-filter", "aria-label": "filter files by path or hash" });
  const only = el("input", { type: "checkbox", id: "file-flagged" });
  const count = el("span", { class: "muted" });
  box.appendChild(el("div", { class: "controls" }, [filter, el("label", null, [only, " only flagged files"]), count]));
  const table = el("div", { class: "table lin-table" });
  table.appendChild(el("div", { class: "frow lin head" }, ["path", "size", "hash", "produced by", "consumed by", "flags"].map((t) => el("span", { text: t }))));
  const list = el("div", { id: "file-list" });
  table.appendChild(list);
  box.appendChild(el("div", { class: "hscroll" }, [table]));
  let shown = ids;
  const v = virtualList(list, 22, shown.length, (k) => {
    const f = F[shown[k]!]!;
    const to = f.to.map((t) => S[t]!.dir).join(", ");
    return el("div", { class: "frow lin", "data-path": f.p }, [
      el("span", { class: "mono", title: f.p, text: f.p }),
      el("span", { text: formatSize(f.s) }),
      el("span", { class: "mono", title: f.h || "", text: shortHash(f.h) }),
      el("span", { text: f.by >= 0 ? S[f.by]!.dir : "-" }),
      el("span", { title: to, text: to || "-" }),
      el("span", null, flagList(f.f)),
    ]);
  });
  const apply = (): void => {
    const q = filter.value.toLowerCase();
    const flagged = only.checked;
    shown = ids.filter((id) => {
      const f = F[id]!;
      return (!flagged || f.f) && (!q || f.p.toLowerCase().includes(q) || (f.h !== null && f.h.startsWith(q)));
    });
    count.textContent = `${shown.length} of ${ids.length} files`;
    v.reset(shown.length);
  };
  let timer = 0;
  filter.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(apply, 120);
  });
  only.addEventListener("change", apply);
  count.textContent = plural(ids.length, "file");
}

export function lineage(): void {
  const ids = lineageFiles();
  let edges = 0;
  const flagged = new Map<string, number>();
  for (const id of ids) {
    const f = F[id]!;
    edges += f.to.length + (f.by >= 0 ? 1 : 0);
    for (const n of FLAG_NAMES) if (f.f & FILE_FLAG[n]) flagged.set(n, (flagged.get(n) ?? 0) + 1);
  }
  const sum = byId("lineage-summary");
  sum.appendChild(el("span", { text: `${ids.length} files, ${edges} edges. ` }));
  for (const n of FLAG_NAMES) sum.appendChild(el("span", { class: `flag ${n}`, "data-flag": n, text: `${n}: ${flagged.get(n) ?? 0}` }));

  const box = byId("lineage-graph");
  const note = byId("lineage-note");
  let draw: ((W: number) => SVGSVGElement) | null = null;
  let what = "";
  if (ids.length <= DETAIL_GRAPH_MAX_FILES) {
    box.setAttribute("data-mode", "files");
    draw = (W) => fileGraph(W, ids);
    what = `${plural(S.length, "stage")} and ${plural(ids.length, "file")}, in stage order; each stage's outputs are beside it. Hover a node for its edges, click a stage for its details.`;
  } else if (S.length <= ARC_GRAPH_MAX_STAGES) {
    box.setAttribute("data-mode", "stages");
    draw = arcGraph;
    what = `Summarised to stages (${plural(ids.length, "file")}): each arc is the files one stage produced and another consumed, wider for more files. Every file is in the table below.`;
    stageTable();
  } else {
    box.setAttribute("data-mode", "table");
    what = `Too big to draw (${plural(S.length, "stage")}, ${plural(ids.length, "file")}): see the stage-to-stage table and the file table below.`;
    stageTable();
  }
  const render = (): void => {
    if (!draw) {
      note.textContent = what;
      box.hidden = true;
      return;
    }
    box.textContent = "";
    const svg = draw(boxWidth(box));
    box.appendChild(svg);
    const h = Number(svg.getAttribute("height"));
    note.textContent = h > box.clientHeight + 1 ? `${what} The graph is ${h} px tall: scroll inside it to see all of it.` : what;
    note.classList.toggle("more", h > box.clientHeight + 1);
  };
  render();
  onWidthChange(render);
  fileTable(ids);
}
