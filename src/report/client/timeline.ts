/** One bar per stage on a shared time axis, coloured by state; the axis has as many ticks as its width holds. */
import { errorHeadline, formatDuration } from "../../format.js";
import type { ReportStage } from "../report-types.js";
import { D, S, stageLabel } from "./data.js";
import { byId, el, onWidthChange, pad2 } from "./dom.js";
import { openStage } from "./stages.js";

/** The least room a tick label needs, in px. */
const TICK_MIN_PX = 84;

function tipText(s: ReportStage): string {
  const lines = [`${stageLabel(s)}  [${s.state}]`];
  if (s.reason) lines.push(s.reason);
  if (s.start !== null && s.end !== null)
    lines.push(`start +${formatDuration(s.start)}, duration ${formatDuration(s.durationMs ?? s.end - s.start)}`);
  lines.push(`${s.inputs.length} inputs, ${s.outputs.length} outputs, ${s.intermediates.length} intermediates`);
  const w = s.warnings[0];
  if (w) lines.push(`${s.warnings.length} warning(s): ${w.message.split("\n")[0]}`);
  const e = s.errors[0];
  if (e) lines.push(`${s.errors.length} error(s): ${errorHeadline(e.type, e.message)}`);
  return lines.join("\n");
}

/** A round step (1, 2 or 5 times a power of ten) that gives at most `max` ticks over `span`. */
export function tickStep(span: number, max: number): number {
  const raw = Math.max(span / Math.max(1, max), 1);
  const p10 = Math.pow(10, Math.floor(Math.log10(raw)));
  const r = raw / p10;
  return (r > 5 ? 10 : r > 2 ? 5 : r > 1 ? 2 : 1) * p10;
}

function drawTicks(ticks: HTMLElement): void {
  ticks.textContent = "";
  const width = ticks.clientWidth || 600;
  const step = tickStep(D.span, Math.floor(width / TICK_MIN_PX));
  for (let t = 0; t <= D.span; t += step) {
    const at = t / D.span;
    // A label needs room to its right; one too close to the end is left out.
    if (t > 0 && (1 - at) * width < TICK_MIN_PX * 0.8) break;
    const tk = el("div", { class: "g-tick", text: `+${formatDuration(t)}` });
    tk.style.left = `${at * 100}%`;
    ticks.appendChild(tk);
  }
}

export function timeline(): void {
  const box = byId("timeline");
  const ticks = el("div", { class: "g-ticks" });
  box.appendChild(el("div", { class: "g-axis" }, [el("div", { class: "g-label muted", text: "stage" }), ticks]));
  const frag = document.createDocumentFragment();
  S.forEach((s, i) => {
    const bar = el("div", {
      class: `bar s-${s.state}`,
      "data-i": i,
      "data-stage": s.dir,
      "data-status": s.state,
      role: "button",
      tabindex: "0",
      "aria-label": `${s.dir} ${s.state}`,
    });
    if (s.start === null || s.end === null) {
      bar.classList.add("nobar");
      bar.style.left = "0";
      bar.textContent = s.state === "not_run" ? "not run" : "no timing";
    } else {
      bar.style.left = `${(s.start / D.span) * 100}%`;
      bar.style.width = `${(Math.max(0, s.end - s.start) / D.span) * 100}%`;
    }
    frag.appendChild(
      el("div", { class: "g-row" }, [
        el("div", { class: "g-label", "data-i": i, title: s.dir, text: (s.number !== null ? `${pad2(s.number)} ` : "") + s.name }),
        el("div", { class: "g-track" }, [bar]),
      ]),
    );
  });
  box.appendChild(frag);
  drawTicks(ticks);
  onWidthChange(() => drawTicks(ticks));

  const tip = byId("tip");
  const target = (ev: Event): number | null => {
    const t = ev.target instanceof Element ? ev.target.closest("[data-i]") : null;
    return t ? Number(t.getAttribute("data-i")) : null;
  };
  box.addEventListener("mouseover", (ev) => {
    const i = target(ev);
    const s = i === null ? undefined : S[i];
    if (!s) return;
    tip.textContent = tipText(s);
    tip.style.display = "block";
  });
  box.addEventListener("mousemove", (ev) => {
    tip.style.left = `${Math.max(0, Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8))}px`;
    tip.style.top = `${ev.clientY + 14}px`;
  });
  box.addEventListener("mouseleave", () => {
    tip.style.display = "none";
  });
  box.addEventListener("click", (ev) => {
    const i = target(ev);
    if (i !== null) openStage(i, "details");
  });
  box.addEventListener("keydown", (ev) => {
    const i = target(ev);
    if (i !== null && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      openStage(i, "details");
    }
  });
}
