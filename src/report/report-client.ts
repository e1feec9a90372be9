/**
 * The report's inline script and style. The script reads the run's data
 * from the page's `application/json` block and builds the page with DOM
 * calls only: every value from the run goes in as text or as an attribute
 * value, never as markup. It is plain ES2017 in a string (no build step
 * for the browser); keep it free of backquotes and dollar-brace.
 */

export const REPORT_CSS = String.raw`
:root { --ok:#2e7d32; --fail:#c62828; --int:#ef6c00; --aband:#6a1b9a; --run:#1565c0; --skip:#9e9e9e; --notrun:#bdbdbd;
  --fg:#1d1d1f; --muted:#666; --line:#ddd; --bg:#fff; --panel:#f6f7f9; font-family: system-ui, sans-serif; }
body { margin: 0 auto; padding: 16px 24px 48px; max-width: 1400px; color: var(--fg); background: var(--bg); font-size: 14px; }
h1 { font-size: 20px; margin: 0 0 8px; word-break: break-all; }
h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 13px; margin: 14px 0 4px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: var(--panel); padding: 8px; overflow: auto; max-height: 360px; white-space: pre-wrap; word-break: break-all; margin: 4px 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; }
.status { display: inline-block; padding: 0 7px; border-radius: 9px; color: #fff; font-size: 12px; line-height: 18px; }
.s-success { --c: var(--ok); } .s-failed { --c: var(--fail); } .s-interrupted { --c: var(--int); } .s-abandoned { --c: var(--aband); }
.s-running { --c: var(--run); } .s-skipped { --c: var(--skip); } .s-not_run { --c: var(--notrun); } .s-empty { --c: var(--notrun); }
.status { background: var(--c); }
.counts span { margin-right: 10px; }
#timeline { border: 1px solid var(--line); max-height: 65vh; overflow: auto; position: relative; }
.g-axis, .g-row { display: grid; grid-template-columns: 220px 1fr; }
.g-axis { position: sticky; top: 0; background: var(--bg); z-index: 2; border-bottom: 1px solid var(--line); height: 20px; }
.g-ticks { position: relative; }
.g-tick { position: absolute; top: 0; height: 20px; border-left: 1px solid var(--line); padding-left: 3px; font-size: 11px; color: var(--muted); white-space: nowrap; }
.g-row { height: 22px; border-bottom: 1px solid #f1f1f1; }
.g-row:hover { background: var(--panel); }
.g-label { padding: 3px 8px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; cursor: pointer; }
.g-track { position: relative; margin-right: 12px; }
.bar { position: absolute; top: 4px; height: 14px; min-width: 3px; border-radius: 3px; background: var(--c); cursor: pointer; }
.bar.s-running { background: repeating-linear-gradient(45deg, var(--run) 0 6px, #64b5f6 6px 12px); }
.bar.s-abandoned { background: repeating-linear-gradient(45deg, var(--aband) 0 4px, #ce93d8 4px 8px); }
.bar.nobar { background: none; border: 1px dashed var(--notrun); color: var(--muted); font-size: 10px; line-height: 12px; padding: 0 4px; width: auto; }
.bar:focus { outline: 2px solid #000; }
#tip { position: fixed; z-index: 10; pointer-events: none; background: #222; color: #fff; padding: 6px 9px; border-radius: 4px; font-size: 12px;
  max-width: 480px; white-space: pre-wrap; word-break: break-all; display: none; }
.legend { color: var(--muted); font-size: 12px; }
.legend dt { font-weight: 600; color: var(--fg); }
.flag { display: inline-block; font-size: 11px; padding: 0 5px; border-radius: 3px; margin-right: 4px; border: 1px solid; }
.flag.missing { color: var(--fail); } .flag.untracked { color: var(--int); } .flag.external { color: var(--run); } .flag.modified { color: var(--aband); }
#lineage-graph { border: 1px solid var(--line); overflow: auto; max-height: 70vh; background: #fcfcfd; }
#lineage-graph svg text { font-size: 11px; font-family: ui-monospace, monospace; }
.edge { fill: none; stroke: #90a4ae; stroke-width: 1.4; }
.edge.untracked { stroke: var(--int); stroke-dasharray: 5 3; }
.edge.missing { stroke: var(--fail); stroke-dasharray: 2 3; }
.edge.modified { stroke: var(--aband); stroke-dasharray: 6 2 2 2; }
.node rect { stroke: #546e7a; fill: #fff; }
.node.stage rect { fill: var(--c); stroke: none; }
.node.stage text { fill: #fff; }
.node.stage { cursor: pointer; }
.node.file.missing rect { stroke: var(--fail); stroke-dasharray: 3 2; }
.node.file.untracked rect { stroke: var(--int); }
.node.file.external rect { stroke: var(--run); }
.node.file.modified rect { stroke: var(--aband); }
.controls { margin: 8px 0; display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
.vlist { overflow: auto; position: relative; border: 1px solid var(--line); }
.vinner { position: relative; }
.frow { display: grid; align-items: center; gap: 8px; padding: 0 6px; white-space: nowrap; border-bottom: 1px solid #f1f1f1; left: 0; right: 0; }
.frow > * { overflow: hidden; text-overflow: ellipsis; }
.frow.head { font-weight: 600; background: var(--panel); }
.lin { grid-template-columns: minmax(200px, 3fr) 80px 110px minmax(100px, 1fr) minmax(120px, 2fr) 150px; }
.ent { grid-template-columns: minmax(200px, 3fr) 70px 80px 110px minmax(140px, 2fr) minmax(80px, 1fr); }
.s2s { grid-template-columns: 1fr 1fr 90px 1fr; }
details.stage { border: 1px solid var(--line); border-left: 5px solid var(--c); margin: 4px 0; border-radius: 3px; }
details.stage > summary { padding: 5px 8px; cursor: pointer; }
details.stage[open] > summary { background: var(--panel); }
details.stage.highlight { box-shadow: 0 0 0 3px #ffd54f; }
.stage-body { padding: 4px 14px 12px; }
.err { border-left: 3px solid var(--fail); padding-left: 8px; margin: 6px 0; }
.err-head { font-weight: 600; color: var(--fail); white-space: pre-wrap; word-break: break-all; }
table.kv { border-collapse: collapse; }
table.kv td { border-bottom: 1px solid #f1f1f1; padding: 2px 10px 2px 0; vertical-align: top; word-break: break-all; }
table.kv td:first-child { color: var(--muted); white-space: nowrap; }
.muted { color: var(--muted); }
.summary-err { color: var(--fail); margin-left: 8px; }
`;

export const REPORT_JS = String.raw`(function () {
"use strict";
var D = JSON.parse(document.getElementById("report-data").textContent);
var S = D.stages, F = D.files;
var FLAG = { missing: 1, untracked: 2, external: 4, modified: 8 };
var FLAG_NAMES = ["missing", "untracked", "external", "modified"];
var DETAIL_GRAPH_MAX_FILES = 300, ARC_GRAPH_MAX_STAGES = 80, PLAIN_LIST_MAX = 200;

function el(tag, attrs, children) {
  var e = document.createElement(tag);
  if (attrs) for (var k in attrs) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") e.textContent = String(v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  if (children) for (var i = 0; i < children.length; i++) {
    var c = children[i];
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
  return e;
}
function svgEl(tag, attrs) {
  var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (var k in attrs) e.setAttribute(k, String(attrs[k]));
  return e;
}
function pad2(n) { return n < 10 ? "0" + n : String(n); }
function fmtDuration(ms) {
  if (ms === null || ms === undefined) return "-";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  if (ms < 3600000) return Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
  return Math.floor(ms / 3600000) + " h " + Math.round((ms % 3600000) / 60000) + " min";
}
function fmtSize(b) {
  if (b === null || b === undefined) return "-";
  var u = ["B", "kB", "MB", "GB", "TB"], i = 0;
  while (b >= 1000 && i < u.length - 1) { b /= 1000; i++; }
  return i === 0 ? b + " B" : b.toFixed(1) + " " + u[i];
}
function fmtTime(iso) { if (!iso) return "-"; var d = new Date(iso.replace(/(\.\d{3})\d+/, "$1")); return isNaN(d) ? iso : d.toISOString().replace("T", " ").replace("Z", " UTC"); }
function short(h) { return h ? h.slice(0, 12) : "-"; }
function stageLabel(s) { return s ? s.dir : "?"; }
function val(v) { return typeof v === "string" ? v : JSON.stringify(v); }
function flagList(f) {
  var out = [];
  for (var k = 0; k < FLAG_NAMES.length; k++) if (f & FLAG[FLAG_NAMES[k]]) out.push(el("span", { class: "flag " + FLAG_NAMES[k], text: FLAG_NAMES[k] }));
  return out;
}
function jaegerHref(traceId, spanId) {
  if (!D.jaegerUrl || !traceId) return null;
  return D.jaegerUrl + "/trace/" + encodeURIComponent(traceId) + (spanId ? "?uiFind=" + encodeURIComponent(spanId) : "");
}
function traceLink(traceId, spanId) {
  var href = jaegerHref(traceId, spanId);
  if (!href) return el("code", { text: traceId || "-" });
  return el("a", { href: href, target: "_blank", rel: "noopener noreferrer", class: "mono", id: spanId ? null : "trace-link", text: traceId });
}

/* Virtualised list: only the rows in view are in the DOM. */
function vlist(box, rowH, count, render) {
  box.classList.add("vlist");
  var inner = el("div", { class: "vinner" });
  box.appendChild(inner);
  var first = -1, last = -1, n = count;
  function size() { inner.style.height = n * rowH + "px"; box.style.height = Math.max(rowH, Math.min(n * rowH, 420)) + 2 + "px"; }
  function draw(force) {
    var top = box.scrollTop, h = box.clientHeight || 420;
    var a = Math.max(0, Math.floor(top / rowH) - 8), b = Math.min(n, Math.ceil((top + h) / rowH) + 8);
    if (!force && a === first && b === last) return;
    first = a; last = b;
    inner.textContent = "";
    var frag = document.createDocumentFragment();
    for (var k = a; k < b; k++) {
      var r = render(k);
      r.style.position = "absolute"; r.style.top = k * rowH + "px"; r.style.height = rowH + "px";
      frag.appendChild(r);
    }
    inner.appendChild(frag);
  }
  box.addEventListener("scroll", function () { draw(false); });
  size(); draw(true);
  return { reset: function (count2) { n = count2; box.scrollTop = 0; size(); draw(true); } };
}

/* ---------- header ---------- */
function header() {
  var h = document.getElementById("header");
  h.appendChild(el("h1", null, ["Run report: ", D.pipeline || "(unnamed pipeline)"]));
  var dl = el("dl", { class: "facts" });
  function fact(k, v) { dl.appendChild(el("dt", { text: k })); dl.appendChild(el("dd", null, [v])); }
  fact("run id", D.runId || "-");
  fact("status", el("span", { class: "status s-" + D.status, id: "run-status", text: D.status }));
  fact("started", fmtTime(D.startedAt));
  fact("duration", fmtDuration(D.durationMs) + (D.status === "running" ? " so far" : ""));
  var t = el("span", null, [traceLink(D.traceId, null)]);
  if (D.traceCount > 1) t.appendChild(el("span", { class: "muted", text: "  (the stages are in " + D.traceCount + " traces; each stage links its own)" }));
  fact("trace id", t);
  var counts = {}, order = ["success", "failed", "interrupted", "abandoned", "running", "skipped", "not_run"];
  S.forEach(function (s) { counts[s.state] = (counts[s.state] || 0) + 1; });
  var c = el("span", { class: "counts" });
  c.appendChild(el("span", { text: S.length + " stages:" }));
  order.concat(Object.keys(counts).filter(function (k) { return order.indexOf(k) < 0; })).forEach(function (k) {
    if (counts[k]) c.appendChild(el("span", null, [el("span", { class: "status s-" + k, text: k }), " " + counts[k]]));
  });
  fact("stages", c);
  var files = 0; S.forEach(function (s) { files += s.inputs.length + s.outputs.length + s.intermediates.length; });
  fact("files", F.length + " distinct files, " + files + " tracked entries");
  fact("run directory", el("code", { text: D.runDir }));
  fact("report made", fmtTime(D.generatedAt));
  h.appendChild(dl);
}

/* ---------- timeline ---------- */
var tip;
function tipText(s) {
  var lines = [stageLabel(s) + "  [" + s.state + "]"];
  if (s.reason) lines.push(s.reason);
  if (s.start !== null) lines.push("start +" + fmtDuration(s.start) + ", duration " + fmtDuration(s.durationMs !== null ? s.durationMs : s.end - s.start));
  lines.push(s.inputs.length + " inputs, " + s.outputs.length + " outputs, " + s.intermediates.length + " intermediates");
  if (s.warnings.length) lines.push(s.warnings.length + " warning(s): " + s.warnings[0].message.split("\n")[0]);
  if (s.errors.length) lines.push(s.errors.length + " error(s): " + s.errors[0].type + ": " + s.errors[0].message.split("\n")[0]);
  return lines.join("\n");
}
function timeline() {
  var box = document.getElementById("timeline");
  var axis = el("div", { class: "g-axis" }, [el("div", { class: "g-label muted", text: "stage" })]);
  var ticks = el("div", { class: "g-ticks" });
  var raw = Math.max(D.span / 8, 1), p10 = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / p10;
  var step = (r > 5 ? 10 : r > 2 ? 5 : r > 1 ? 2 : 1) * p10;
  for (var t = 0; t <= D.span; t += step) {
    var tk = el("div", { class: "g-tick", text: "+" + fmtDuration(t) });
    tk.style.left = (t / D.span) * 100 + "%";
    ticks.appendChild(tk);
  }
  axis.appendChild(ticks);
  box.appendChild(axis);
  var frag = document.createDocumentFragment();
  for (var i = 0; i < S.length; i++) {
    var s = S[i];
    var bar = el("div", { class: "bar s-" + s.state, "data-i": i, "data-stage": s.dir, "data-status": s.state, role: "button", tabindex: "0", "aria-label": s.dir + " " + s.state });
    if (s.start === null) {
      bar.classList.add("nobar");
      bar.style.left = "0";
      bar.textContent = s.state === "not_run" ? "not run" : "no timing";
    } else {
      bar.style.left = (s.start / D.span) * 100 + "%";
      bar.style.width = (Math.max(0, s.end - s.start) / D.span) * 100 + "%";
    }
    frag.appendChild(el("div", { class: "g-row" }, [
      el("div", { class: "g-label", "data-i": i, text: (s.number !== null ? pad2(s.number) + " " : "") + s.name }),
      el("div", { class: "g-track" }, [bar]),
    ]));
  }
  box.appendChild(frag);
  tip = document.getElementById("tip");
  box.addEventListener("mouseover", function (ev) {
    var b = ev.target.closest ? ev.target.closest("[data-i]") : null;
    if (!b) return;
    tip.textContent = tipText(S[Number(b.getAttribute("data-i"))]);
    tip.style.display = "block";
  });
  box.addEventListener("mousemove", function (ev) {
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - 490) + "px";
    tip.style.top = ev.clientY + 14 + "px";
  });
  box.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  box.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("[data-i]") : null;
    if (b) openStage(Number(b.getAttribute("data-i")), true);
  });
  box.addEventListener("keydown", function (ev) {
    var b = ev.target.closest ? ev.target.closest("[data-i]") : null;
    if (b && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); openStage(Number(b.getAttribute("data-i")), true); }
  });
}

/* ---------- lineage ---------- */
var intermediateOnly = null;
function lineageNodes() {
  // Files that take part in the lineage: every input and output; an intermediate only when a stage consumed it.
  var isInter = new Uint8Array(F.length), isOut = new Uint8Array(F.length);
  S.forEach(function (s) {
    s.intermediates.forEach(function (e) { isInter[e[0]] = 1; });
    s.outputs.forEach(function (e) { isOut[e[0]] = 1; });
  });
  intermediateOnly = isInter;
  var ids = [];
  for (var i = 0; i < F.length; i++) if (!isInter[i] || isOut[i] || F[i].to.length > 0) ids.push(i);
  return ids;
}
function lineage() {
  var ids = lineageNodes();
  var edges = 0, flagged = { missing: 0, untracked: 0, external: 0, modified: 0 };
  ids.forEach(function (id) {
    var f = F[id];
    edges += f.to.length + (f.by >= 0 ? 1 : 0);
    FLAG_NAMES.forEach(function (n) { if (f.f & FLAG[n]) flagged[n]++; });
  });
  var sum = document.getElementById("lineage-summary");
  sum.appendChild(el("span", { text: ids.length + " files, " + edges + " edges. " }));
  FLAG_NAMES.forEach(function (n) { sum.appendChild(el("span", { class: "flag " + n, "data-flag": n, text: n + ": " + flagged[n] })); });
  var box = document.getElementById("lineage-graph");
  if (ids.length <= DETAIL_GRAPH_MAX_FILES) detailGraph(box, ids);
  else if (S.length <= ARC_GRAPH_MAX_STAGES) { box.setAttribute("data-mode", "stages"); note(box, "The graph is summarised to stages (" + ids.length + " files): each arc is the files one stage produced and a later one consumed. Every file is in the table below."); arcGraph(box); stageTable(); }
  else { box.setAttribute("data-mode", "table"); note(box, "The graph is summarised (" + S.length + " stages, " + ids.length + " files): see the stage-to-stage table and the file table below."); stageTable(); }
  fileTable(ids);
}
function note(box, text) { box.appendChild(el("p", { class: "muted", style: "margin:6px", text: text })); }
function stageEdges() {
  var map = {};
  F.forEach(function (f) {
    if (f.by < 0) return;
    f.to.forEach(function (t) {
      var k = f.by + ">" + t, e = map[k] || (map[k] = { a: f.by, b: t, n: 0, f: 0 });
      e.n++; e.f |= f.f;
    });
  });
  return Object.keys(map).map(function (k) { return map[k]; }).sort(function (x, y) { return x.a - y.a || x.b - y.b; });
}
function edgeClass(flags) {
  if (flags & FLAG.missing) return "edge missing";
  if (flags & FLAG.untracked) return "edge untracked";
  if (flags & FLAG.modified) return "edge modified";
  return "edge";
}
function curve(x1, y1, x2, y2) {
  var dx = Math.max(30, Math.abs(x2 - x1) / 2);
  return "M" + x1 + "," + y1 + " C" + (x1 + dx) + "," + y1 + " " + (x2 - dx) + "," + y2 + " " + x2 + "," + y2;
}
function clipText(t, n) { return t.length > n ? "\u2026" + t.slice(t.length - n + 1) : t; }
function detailGraph(box, ids) {
  box.setAttribute("data-mode", "files");
  var COLW = 210, NODEW = 180, ROWH = 32, NODEH = 22, PAD = 16;
  var cols = {}, minCol = 0, maxCol = 0;
  function put(col, item) { (cols[col] = cols[col] || []).push(item); minCol = Math.min(minCol, col); maxCol = Math.max(maxCol, col); }
  S.forEach(function (s, i) { put(2 * i, { t: "s", i: i }); });
  ids.forEach(function (id) {
    var f = F[id];
    if (f.by >= 0) put(2 * f.by + 1, { t: "f", i: id });
    else if (f.to.length) put(2 * Math.min.apply(null, f.to) - 1, { t: "f", i: id });
  });
  var rows = 0;
  for (var c in cols) rows = Math.max(rows, cols[c].length);
  var pos = { s: {}, f: {} };
  for (var c2 in cols) {
    var list = cols[c2], off = ((rows - list.length) * ROWH) / 2;
    list.forEach(function (it, k) { pos[it.t][it.i] = { x: PAD + (Number(c2) - minCol) * COLW, y: PAD + off + k * ROWH }; });
  }
  var W = PAD * 2 + (maxCol - minCol) * COLW + NODEW, H = PAD * 2 + rows * ROWH;
  var svg = svgEl("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, id: "lineage-svg" });
  var gE = svgEl("g", {}), gN = svgEl("g", {});
  svg.appendChild(gE); svg.appendChild(gN);
  function edge(from, to, cls, a, b) {
    var p = svgEl("path", { class: cls, d: curve(a.x + NODEW, a.y + NODEH / 2, b.x, b.y + NODEH / 2) });
    p.setAttribute("data-from", from); p.setAttribute("data-to", to);
    var t = svgEl("title", {}); t.textContent = from + " \u2192 " + to; p.appendChild(t);
    gE.appendChild(p);
  }
  ids.forEach(function (id) {
    var f = F[id], fp = pos.f[id];
    if (!fp) return;
    var fk = "file:" + f.p;
    if (f.by >= 0) edge("stage:" + S[f.by].dir, fk, edgeClass(f.f & (FLAG.untracked | FLAG.missing)), pos.s[f.by], fp);
    f.to.forEach(function (t) { edge(fk, "stage:" + S[t].dir, edgeClass(f.f & (FLAG.missing | FLAG.modified)), fp, pos.s[t]); });
  });
  function node(kind, key, label, title, cls, p, i) {
    var g = svgEl("g", { class: "node " + kind + " " + cls, transform: "translate(" + p.x + "," + p.y + ")" });
    g.setAttribute("data-id", key);
    if (i !== null) g.setAttribute("data-i", i);
    g.appendChild(svgEl("rect", { width: NODEW, height: NODEH, rx: kind === "stage" ? 4 : 2 }));
    var tx = svgEl("text", { x: 6, y: 15 }); tx.textContent = label; g.appendChild(tx);
    var tt = svgEl("title", {}); tt.textContent = title; g.appendChild(tt);
    gN.appendChild(g);
  }
  S.forEach(function (s, i) { node("stage", "stage:" + s.dir, clipText(s.dir, 24), s.dir + " [" + s.state + "]", "s-" + s.state, pos.s[i], i); });
  ids.forEach(function (id) {
    var f = F[id], p = pos.f[id];
    if (!p) return;
    var fl = FLAG_NAMES.filter(function (n) { return f.f & FLAG[n]; });
    node("file", "file:" + f.p, clipText(f.p.split("/").pop() || f.p, 25), f.p + "\n" + fmtSize(f.s) + "  " + (f.h || "no hash") + (fl.length ? "\n" + fl.join(", ") : ""), fl.join(" "), p, null);
  });
  svg.addEventListener("click", function (ev) {
    var g = ev.target.closest ? ev.target.closest(".node.stage") : null;
    if (g) openStage(Number(g.getAttribute("data-i")), true);
  });
  box.appendChild(svg);
}
function arcGraph(box) {
  var STEP = 56, PAD = 20, NODEH = 20, es = stageEdges();
  var maxSpan = 1;
  es.forEach(function (e) { maxSpan = Math.max(maxSpan, Math.abs(e.b - e.a)); });
  var arcH = Math.min(220, maxSpan * STEP * 0.3 + 20);
  var W = PAD * 2 + S.length * STEP, H = arcH + NODEH + PAD * 2, y = PAD + arcH;
  var svg = svgEl("svg", { width: W, height: H, id: "lineage-svg" });
  es.forEach(function (e) {
    var x1 = PAD + e.a * STEP + STEP / 2, x2 = PAD + e.b * STEP + STEP / 2, h = Math.min(arcH, Math.abs(x2 - x1) * 0.3 + 10);
    var p = svgEl("path", { class: edgeClass(e.f), d: "M" + x1 + "," + y + " C" + x1 + "," + (y - h) + " " + x2 + "," + (y - h) + " " + x2 + "," + y, "stroke-width": Math.min(6, 1 + Math.log(e.n)) });
    p.setAttribute("data-from", "stage:" + S[e.a].dir); p.setAttribute("data-to", "stage:" + S[e.b].dir);
    var t = svgEl("title", {}); t.textContent = S[e.a].dir + " \u2192 " + S[e.b].dir + ": " + e.n + " files"; p.appendChild(t);
    svg.appendChild(p);
  });
  S.forEach(function (s, i) {
    var g = svgEl("g", { class: "node stage s-" + s.state, transform: "translate(" + (PAD + i * STEP + 4) + "," + y + ")" });
    g.setAttribute("data-i", i); g.setAttribute("data-id", "stage:" + s.dir);
    g.appendChild(svgEl("rect", { width: STEP - 8, height: NODEH, rx: 3 }));
    var tx = svgEl("text", { x: 4, y: 14 }); tx.textContent = s.number !== null ? pad2(s.number) : String(i); g.appendChild(tx);
    var tt = svgEl("title", {}); tt.textContent = s.dir + " [" + s.state + "]"; g.appendChild(tt);
    svg.appendChild(g);
  });
  svg.addEventListener("click", function (ev) {
    var g = ev.target.closest ? ev.target.closest(".node.stage") : null;
    if (g) openStage(Number(g.getAttribute("data-i")), true);
  });
  box.appendChild(svg);
}
function stageTable() {
  var es = stageEdges();
  var box = document.getElementById("lineage-stages");
  box.appendChild(el("h3", { text: "Stage to stage (" + es.length + " pairs)" }));
  box.appendChild(el("div", { class: "frow s2s head" }, [el("span", { text: "producer" }), el("span", { text: "consumer" }), el("span", { text: "files" }), el("span", { text: "flags" })]));
  var list = el("div");
  box.appendChild(list);
  vlist(list, 22, es.length, function (k) {
    var e = es[k];
    return el("div", { class: "frow s2s" }, [el("span", { text: S[e.a].dir }), el("span", { text: S[e.b].dir }), el("span", { text: String(e.n) }), el("span", null, flagList(e.f))]);
  });
}
function fileTable(ids) {
  var box = document.getElementById("lineage-files");
  var filter = el("input", { type: "search", placeholder: "filter by path or hash", id: "file-filter", size: 40 });
  var only = el("input", { type: "checkbox", id: "file-flagged" });
  var count = el("span", { class: "muted" });
  box.appendChild(el("div", { class: "controls" }, [filter, el("label", null, [only, " only flagged files"]), count]));
  box.appendChild(el("div", { class: "frow lin head" }, ["path", "size", "hash", "produced by", "consumed by", "flags"].map(function (t) { return el("span", { text: t }); })));
  var list = el("div", { id: "file-list" });
  box.appendChild(list);
  var shown = ids;
  var v = vlist(list, 22, shown.length, function (k) {
    var f = F[shown[k]];
    return el("div", { class: "frow lin", "data-path": f.p }, [
      el("span", { class: "mono", title: f.p, text: f.p }),
      el("span", { text: fmtSize(f.s) }),
      el("span", { class: "mono", title: f.h || "", text: short(f.h) }),
      el("span", { text: f.by >= 0 ? S[f.by].dir : "-" }),
      el("span", { title: f.to.map(function (t) { return S[t].dir; }).join(", "), text: f.to.length ? f.to.map(function (t) { return S[t].dir; }).join(", ") : "-" }),
      el("span", null, flagList(f.f)),
    ]);
  });
  function apply() {
    var q = filter.value.toLowerCase(), fl = only.checked;
    shown = ids.filter(function (id) { var f = F[id]; return (!fl || f.f) && (!q || f.p.toLowerCase().indexOf(q) >= 0 || (f.h && f.h.indexOf(q) === 0)); });
    count.textContent = shown.length + " of " + ids.length + " files";
    v.reset(shown.length);
  }
  var timer = 0;
  filter.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
  only.addEventListener("change", apply);
  count.textContent = ids.length + " files";
}

/* ---------- stages ---------- */
function kvTable(pairs) {
  if (!pairs.length) return el("p", { class: "muted", text: "none" });
  var t = el("table", { class: "kv" });
  pairs.forEach(function (p) { t.appendChild(el("tr", null, [el("td", { class: "mono", text: p[0] }), el("td", { class: "mono", text: val(p[1]) })])); });
  return t;
}
function entryRow(e, role, i) {
  var f = F[e[0]], lin = [];
  if (role === "inputs") {
    if (f.by >= 0 && f.by !== i) lin.push("from " + S[f.by].dir);
    else if (f.f & FLAG.external) lin.push("from outside the run's stages");
  } else {
    var others = f.to.filter(function (t) { return t !== i; });
    lin.push(others.length ? "\u2192 " + others.map(function (t) { return S[t].dir; }).join(", ") : "not consumed");
  }
  var meta = e[2] ? JSON.stringify(e[2]) : "";
  if (role === "intermediates") meta = (e[3] ? "retained" : "temporary") + (e[4] ? " (" + e[4] + ")" : "") + (meta ? " " + meta : "");
  return el("div", { class: "frow ent", "data-path": f.p }, [
    el("span", { class: "mono", title: f.p, text: f.p }),
    el("span", { text: e[1] || "" }),
    el("span", { text: fmtSize(f.s) }),
    el("span", { class: "mono", title: f.h || "", text: short(f.h) }),
    el("span", { title: lin.join(" "), text: lin.join(" ") }, flagList(f.f & (role === "inputs" ? 15 : FLAG.missing))),
    el("span", { class: "mono", title: meta, text: meta }),
  ]);
}
function entryList(list, role, i) {
  if (!list.length) return el("p", { class: "muted", text: "none" });
  var box = el("div", { class: "files " + role });
  box.appendChild(el("div", { class: "frow ent head" }, ["path", "type", "size", "hash", "lineage", "metadata"].map(function (t) { return el("span", { text: t }); })));
  if (list.length <= PLAIN_LIST_MAX) {
    list.forEach(function (e) { var r = entryRow(e, role, i); r.style.height = "22px"; box.appendChild(r); });
  } else {
    var v = el("div");
    box.appendChild(v);
    vlist(v, 22, list.length, function (k) { return entryRow(list[k], role, i); });
  }
  return box;
}
function stageBody(i) {
  var s = S[i], b = el("div", { class: "stage-body" });
  var dl = el("dl", { class: "facts" });
  function fact(k, v) { if (v === null || v === undefined || v === "") return; dl.appendChild(el("dt", { text: k })); dl.appendChild(el("dd", null, [v])); }
  fact("status", el("span", { class: "status s-" + s.state, text: s.state }));
  fact("reason", s.reason);
  fact("problem", s.problem);
  fact("started", s.startedAt ? fmtTime(s.startedAt) : null);
  fact("ended", s.endedAt ? fmtTime(s.endedAt) : null);
  fact("duration", s.start !== null ? fmtDuration(s.durationMs) : null);
  if (s.pid !== null || s.host) fact("process", "pid " + (s.pid === null ? "?" : s.pid) + " on " + (s.host || "?") + (s.exitCode !== null ? ", exit code " + s.exitCode : ""));
  if (s.command.length) fact("command", el("code", { text: s.command.join(" ") }));
  if (s.traceId) fact("trace / span", el("span", null, [traceLink(s.traceId, s.spanId), " / ", el("code", { text: s.spanId || "-" })]));
  b.appendChild(dl);
  if (s.errors.length) {
    b.appendChild(el("h3", { text: "Errors (" + s.errors.length + ")" }));
    s.errors.forEach(function (e) {
      b.appendChild(el("div", { class: "err" }, [
        el("div", { class: "err-head", text: e.type + ": " + e.message }),
        el("div", { class: "muted", text: fmtTime(e.timestamp) }),
        e.stack ? el("pre", { class: "stack", text: e.stack }) : null,
      ]));
    });
  }
  if (s.warnings.length) {
    b.appendChild(el("h3", { text: "Warnings (" + s.warnings.length + ")" }));
    var ul = el("ul", { class: "warnings" });
    s.warnings.forEach(function (w) { ul.appendChild(el("li", { text: w.message })); });
    b.appendChild(ul);
  }
  b.appendChild(el("h3", { text: "Config" }));
  b.appendChild(kvTable(s.config));
  b.appendChild(el("h3", { text: "Inputs (" + s.inputs.length + ")" }));
  b.appendChild(entryList(s.inputs, "inputs", i));
  b.appendChild(el("h3", { text: "Outputs (" + s.outputs.length + ")" }));
  b.appendChild(entryList(s.outputs, "outputs", i));
  b.appendChild(el("h3", { text: "Intermediates (" + s.intermediates.length + ")" }));
  b.appendChild(entryList(s.intermediates, "intermediates", i));
  b.appendChild(el("h3", { text: "Resources" }));
  b.appendChild(kvTable(s.resources));
  b.appendChild(el("h3", { text: s.logPath ? "stage.log (last " + s.log.length + " lines)" : "stage.log" }));
  b.appendChild(s.logPath ? el("pre", { class: "log", text: s.log.join("\n") }) : el("p", { class: "muted", text: "no stage.log found" }));
  return b;
}
function build(d) {
  if (d.getAttribute("data-built")) return;
  d.setAttribute("data-built", "1");
  d.appendChild(stageBody(Number(d.getAttribute("data-i"))));
}
function openStage(i, scroll) {
  var d = document.getElementById("stage-" + i);
  build(d);
  d.open = true;
  var prev = document.querySelector("details.stage.highlight");
  if (prev) prev.classList.remove("highlight");
  d.classList.add("highlight");
  if (scroll) d.scrollIntoView({ block: "start" });
}
function stages() {
  var box = document.getElementById("stage-list");
  var frag = document.createDocumentFragment();
  S.forEach(function (s, i) {
    var summ = el("summary", null, [
      el("span", { class: "status s-" + s.state, text: s.state }), " ",
      el("strong", { text: s.dir }), " ",
      el("span", { class: "muted", text: (s.start !== null ? fmtDuration(s.durationMs) + ", " : "") + s.inputs.length + " in, " + s.outputs.length + " out" +
        (s.warnings.length ? ", " + s.warnings.length + " warning(s)" : "") }),
      s.errors.length ? el("span", { class: "summary-err", text: s.errors[0].type + ": " + s.errors[0].message.split("\n")[0].slice(0, 200) }) : null,
    ]);
    var d = el("details", { class: "stage s-" + s.state, id: "stage-" + i, "data-i": i, "data-stage": s.dir, "data-status": s.state }, [summ]);
    d.addEventListener("toggle", function () { if (d.open) build(d); });
    frag.appendChild(d);
  });
  box.appendChild(frag);
  for (var i = 0; i < S.length; i++) {
    if (S[i].state === "failed" || S[i].state === "abandoned" || S[i].state === "interrupted") { openStage(i, false); break; }
  }
}

header();
timeline();
lineage();
stages();
document.documentElement.setAttribute("data-ready", "1");
requestAnimationFrame(function () { requestAnimationFrame(function () { window.reportRenderedAt = performance.now(); document.documentElement.setAttribute("data-painted", "1"); }); });
})();
`;
