/** Building the page with DOM calls only: values from the run go in as text or attribute values, never as markup. */

export type Child = Node | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | null | undefined>;

/** An element with attributes (`text` sets its text, `class` its class) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, children?: readonly Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") e.textContent = String(v);
      else if (k === "class") e.className = String(v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
  }
  if (children) append(e, children);
  return e;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** An SVG `<title>` (the tooltip) with this text. */
export function svgTitle(text: string): SVGTitleElement {
  const t = svgEl("title");
  t.textContent = text;
  return t;
}

/** An element of the page's fixed skeleton (report.ts writes every one of these ids). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

export function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** A manifest timestamp (which may carry nanoseconds) as `2026-01-02 10:11:12.345 UTC`. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "-";
  const d = new Date(iso.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace("T", " ").replace("Z", " UTC");
}

/** A hash shortened for a table. */
export function shortHash(h: string | null): string {
  return h ? h.slice(0, 12) : "-";
}

/** Calls `fn` after the window has stopped resizing, when the width changed. */
export function onWidthChange(fn: () => void): void {
  let width = window.innerWidth;
  let timer = 0;
  window.addEventListener("resize", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      if (window.innerWidth === width) return;
      width = window.innerWidth;
      fn();
    }, 150);
  });
}
