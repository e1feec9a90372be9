/** A virtualised list: only the rows in view are in the page, so 50,000 files stay fast. */
import { el } from "./dom.js";

export interface VirtualList {
  /** Shows `count` rows from the top. */
  reset(count: number): void;
}

export function virtualList(box: HTMLElement, rowHeight: number, count: number, render: (i: number) => HTMLElement): VirtualList {
  box.classList.add("vlist");
  const inner = el("div", { class: "vinner" });
  box.appendChild(inner);
  let first = -1;
  let last = -1;
  let n = count;
  const size = (): void => {
    inner.style.height = `${n * rowHeight}px`;
    box.style.height = `${Math.max(rowHeight, Math.min(n * rowHeight, 420)) + 2}px`;
  };
  const draw = (force: boolean): void => {
    const top = box.scrollTop;
    const h = box.clientHeight || 420;
    const a = Math.max(0, Math.floor(top / rowHeight) - 8);
    const b = Math.min(n, Math.ceil((top + h) / rowHeight) + 8);
    if (!force && a === first && b === last) return;
    first = a;
    last = b;
    inner.textContent = "";
    const frag = document.createDocumentFragment();
    for (let k = a; k < b; k++) {
      const r = render(k);
      r.style.position = "absolute";
      r.style.top = `${k * rowHeight}px`;
      r.style.height = `${rowHeight}px`;
      frag.appendChild(r);
    }
    inner.appendChild(frag);
  };
  box.addEventListener("scroll", () => draw(false));
  size();
  draw(true);
  return {
    reset(count2: number) {
      n = count2;
      box.scrollTop = 0;
      size();
      draw(true);
    },
  };
}
