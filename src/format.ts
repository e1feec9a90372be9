/**
 * How durations, sizes and free text from manifests are written for people:
 * one format each, shared by `stagetrace show`, `stagetrace diff` and the
 * HTML report (whose browser script bundles this module, so it imports
 * nothing).
 */

/** `850 ms`, `4.2 s`, `3 min 7 s`, `2 h 5 min`; `-` when unknown. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const min = Math.round(s / 60);
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

const SIZE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/** Decimal units: `512 B`, `12.3 kB`, `4.0 MB`; `-` when unknown. */
export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "-";
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 999.95 && i < SIZE_UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${SIZE_UNITS[i]}`;
}

/** A count with its noun, singular or plural: `1 file`, `3 files`. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Text from a manifest made safe for one line of a terminal: every control
 * character (newline, escape, bell, a C1 CSI) becomes a visible `\uXXXX`, so
 * no escape sequence from a stage name, path or message reaches the terminal
 * and one item stays one line.
 */
export function oneLine(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The first line of a text, at most `max` characters (cut with `…`). */
export function firstLine(text: string, max = 200): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** An error as one line, `Type: message` (the message's first line), without repeating a type the message already starts with (Python's `ValueError: ...`). */
export function errorHeadline(type: string, message: string): string {
  const first = message.split("\n", 1)[0] ?? "";
  return first === type || first.startsWith(`${type}:`) ? first : `${type}: ${first}`;
}
