/**
 * `diffRuns(a, b)`: what changed between two runs of a pipeline, stage by
 * stage, and the first stage where they diverge. Files are matched by their
 * path relative to their run directory, so runs in different directories
 * compare.
 */
import { formatDuration, oneLine } from "../format.js";
import { isSecretKey, REDACTED } from "../values/redaction.js";
import type { LoadedRun, LoadedStage } from "../run/load-run.js";
import type { ManifestFileEntry, RecordedValue } from "../types.js";
import { runRelativePath } from "./run-files.js";

export interface FileChange {
  /** Path relative to the run directory (absolute when outside it). */
  path: string;
  /** Content hash in run A / run B; null when that run has no such file or it was not hashed. */
  a: string | null;
  b: string | null;
}

export interface FileChanges {
  /** In both runs, with different content (hash, or size and existence when a run did not hash). */
  changed: FileChange[];
  /** Only in run B. */
  appeared: FileChange[];
  /** Only in run A. */
  disappeared: FileChange[];
}

export interface ConfigChange {
  key: string;
  /** The values as the manifests hold them (already redacted); `[REDACTED]` whenever the key looks secret. */
  a: RecordedValue | undefined;
  b: RecordedValue | undefined;
}

export interface StageDiff {
  /** The stage's name (stages are matched by name). */
  stage: string;
  /** Its directory in run B (else run A), e.g. `03_translate`. */
  dir: string;
  number: number | null;
  /** `a` or `b` when the stage is in one run only. */
  onlyIn: "a" | "b" | null;
  status: { a: string | null; b: string | null; changed: boolean };
  duration: { a: number | null; b: number | null; /** b / a, null when either is unknown or a is 0. */ ratio: number | null };
  config: { added: ConfigChange[]; removed: ConfigChange[]; changed: ConfigChange[] };
  inputs: FileChanges;
  outputs: FileChanges;
  /** Warnings and errors of run B that run A did not have (run paths replaced by `<run>`), and those that went away. */
  warnings: { added: string[]; removed: string[] };
  errors: { added: string[]; removed: string[] };
  /** True when anything above differs (durations alone never count). */
  differs: boolean;
}

export interface FirstDivergence {
  stage: string;
  dir: string;
  number: number | null;
  /** Which rule named it: `status` (inputs identical, the stage newly failed or was interrupted), `outputs` (inputs identical, outputs changed), `config` (config and outputs changed), `first-difference` (no stage met these; the first stage that differs at all). */
  rule: "status" | "outputs" | "config" | "first-difference";
  /** One line, for people. */
  why: string;
}

export interface RunDiff {
  a: { runDir: string; runId: string | null };
  b: { runDir: string; runId: string | null };
  stages: StageDiff[];
  firstDivergence: FirstDivergence | null;
  differs: boolean;
}

function configValue(key: string, value: RecordedValue | undefined): RecordedValue | undefined {
  return value !== undefined && isSecretKey(key) ? REDACTED : value;
}

function fileFingerprint(e: ManifestFileEntry): string {
  if (e.exists === false) return "missing";
  if (e.hash) return `${e.hash_algorithm ?? ""}:${e.hash}`;
  return `size:${e.size ?? "?"}:${e.kind ?? ""}`;
}

function filesByPath(
  run: LoadedRun,
  stage: LoadedStage | undefined,
  list: ManifestFileEntry[] | undefined,
): Map<string, ManifestFileEntry> {
  const out = new Map<string, ManifestFileEntry>();
  if (!stage || !Array.isArray(list)) return out;
  for (const e of list) out.set(runRelativePath(run, stage, e.path), e);
  return out;
}

function compareFiles(
  runA: LoadedRun,
  sa: LoadedStage | undefined,
  listA: ManifestFileEntry[] | undefined,
  runB: LoadedRun,
  sb: LoadedStage | undefined,
  listB: ManifestFileEntry[] | undefined,
): FileChanges {
  const a = filesByPath(runA, sa, listA);
  const b = filesByPath(runB, sb, listB);
  const out: FileChanges = { changed: [], appeared: [], disappeared: [] };
  for (const [path, ea] of a) {
    const eb = b.get(path);
    if (!eb) out.disappeared.push({ path, a: ea.hash ?? null, b: null });
    else if (fileFingerprint(ea) !== fileFingerprint(eb)) out.changed.push({ path, a: ea.hash ?? null, b: eb.hash ?? null });
  }
  for (const [path, eb] of b) if (!a.has(path)) out.appeared.push({ path, a: null, b: eb.hash ?? null });
  return out;
}

function fileChangeCount(c: FileChanges): number {
  return c.changed.length + c.appeared.length + c.disappeared.length;
}

/** Replaces the run directory in free text, so that the same message from two runs compares equal. */
function normaliser(run: LoadedRun, stage: LoadedStage | undefined): (text: string) => string {
  const dirs = [stage?.manifest?.pipeline?.run_dir, run.runDir].filter((d): d is string => !!d).sort((x, y) => y.length - x.length);
  return (text) => dirs.reduce((t, d) => t.split(d).join("<run>"), text);
}

/** Messages in `b` that are not in `a`, counting repeats (a multiset difference). */
function added(a: string[], b: string[]): string[] {
  const counts = new Map<string, number>();
  for (const m of a) counts.set(m, (counts.get(m) ?? 0) + 1);
  const out: string[] = [];
  for (const m of b) {
    const n = counts.get(m) ?? 0;
    if (n > 0) counts.set(m, n - 1);
    else out.push(m);
  }
  return out;
}

function diffStage(runA: LoadedRun, sa: LoadedStage | undefined, runB: LoadedRun, sb: LoadedStage | undefined): StageDiff {
  const ma = sa?.manifest ?? null;
  const mb = sb?.manifest ?? null;
  const stateA = sa ? sa.state : null;
  const stateB = sb ? sb.state : null;
  const durA = ma && sa?.state !== "running" && sa?.state !== "abandoned" ? ma.duration_ms : null;
  const durB = mb && sb?.state !== "running" && sb?.state !== "abandoned" ? mb.duration_ms : null;

  const ca = ma?.config ?? {};
  const cb = mb?.config ?? {};
  const config: StageDiff["config"] = { added: [], removed: [], changed: [] };
  for (const key of Object.keys(ca).sort()) {
    if (!Object.hasOwn(cb, key)) config.removed.push({ key, a: configValue(key, ca[key]), b: undefined });
    else if (JSON.stringify(ca[key]) !== JSON.stringify(cb[key]))
      config.changed.push({ key, a: configValue(key, ca[key]), b: configValue(key, cb[key]) });
  }
  for (const key of Object.keys(cb).sort()) {
    if (!Object.hasOwn(ca, key)) config.added.push({ key, a: undefined, b: configValue(key, cb[key]) });
  }

  const normA = normaliser(runA, sa);
  const normB = normaliser(runB, sb);
  const warnA = (ma?.warnings ?? []).map((w) => normA(String(w.message)));
  const warnB = (mb?.warnings ?? []).map((w) => normB(String(w.message)));
  const errA = (ma?.errors ?? []).map((e) => normA(`${e.type}: ${e.message}`));
  const errB = (mb?.errors ?? []).map((e) => normB(`${e.type}: ${e.message}`));

  const d: StageDiff = {
    stage: (sb ?? sa)!.name,
    dir: (sb ?? sa)!.dirName,
    number: (sb ?? sa)!.number,
    onlyIn: sa && sb ? null : sa ? "a" : "b",
    status: { a: stateA, b: stateB, changed: stateA !== stateB },
    duration: { a: durA, b: durB, ratio: durA !== null && durB !== null && durA > 0 ? durB / durA : null },
    config,
    inputs: compareFiles(runA, sa, ma?.inputs, runB, sb, mb?.inputs),
    outputs: compareFiles(runA, sa, ma?.outputs, runB, sb, mb?.outputs),
    warnings: { added: added(warnA, warnB), removed: added(warnB, warnA) },
    errors: { added: added(errA, errB), removed: added(errB, errA) },
    differs: false,
  };
  d.differs =
    d.onlyIn !== null ||
    d.status.changed ||
    config.added.length + config.removed.length + config.changed.length > 0 ||
    fileChangeCount(d.inputs) + fileChangeCount(d.outputs) > 0 ||
    d.warnings.added.length + d.warnings.removed.length + d.errors.added.length + d.errors.removed.length > 0;
  return d;
}

function configChangeCount(d: StageDiff): number {
  return d.config.added.length + d.config.removed.length + d.config.changed.length;
}

/**
 * The first divergence, in stage order (by number in run B, else run A):
 *  1. the first stage in both runs whose outputs changed while its inputs
 *     did not (rule `outputs`), or whose outputs and config both changed
 *     (rule `config`) - whichever stage comes first;
 *  2. if no stage meets that, the first stage that differs at all.
 */
export function findFirstDivergence(stages: readonly StageDiff[]): FirstDivergence | null {
  for (const d of stages) {
    if (d.onlyIn !== null || d.status.a === "not_run" || d.status.b === "not_run") continue;
    // A stage that fails from the same inputs is where the trouble starts, whatever it wrote.
    if (
      d.status.changed &&
      (d.status.b === "failed" || d.status.b === "interrupted" || d.status.b === "abandoned") &&
      fileChangeCount(d.inputs) === 0
    ) {
      return { stage: d.stage, dir: d.dir, number: d.number, rule: "status", why: `same inputs, status ${d.status.a} → ${d.status.b}` };
    }
    const outputs = fileChangeCount(d.outputs);
    if (outputs === 0) continue;
    const inputs = fileChangeCount(d.inputs);
    const config = configChangeCount(d);
    if (inputs === 0 || config > 0) {
      const keys = [...d.config.added, ...d.config.removed, ...d.config.changed].map((c) => c.key);
      const parts = [
        inputs === 0 ? "same inputs" : `${inputs} input(s) changed`,
        config > 0 ? `config changed (${keys.join(", ")})` : "same config",
        `${outputs} output(s) changed`,
      ];
      return { stage: d.stage, dir: d.dir, number: d.number, rule: config > 0 ? "config" : "outputs", why: parts.join(", ") };
    }
  }
  const first = stages.find((d) => d.differs);
  if (!first) return null;
  return {
    stage: first.stage,
    dir: first.dir,
    number: first.number,
    rule: "first-difference",
    why: `no stage changed its outputs from the same inputs; ${describe(first)}`,
  };
}

function describe(d: StageDiff): string {
  if (d.onlyIn) return `the stage ran only in run ${d.onlyIn.toUpperCase()}`;
  const parts: string[] = [];
  if (d.status.changed) parts.push(`status ${d.status.a} → ${d.status.b}`);
  if (configChangeCount(d) > 0) parts.push("config changed");
  if (fileChangeCount(d.inputs) > 0) parts.push("inputs changed");
  if (fileChangeCount(d.outputs) > 0) parts.push("outputs changed");
  if (d.warnings.added.length + d.warnings.removed.length > 0) parts.push("warnings changed");
  if (d.errors.added.length + d.errors.removed.length > 0) parts.push("errors changed");
  return parts.join(", ");
}

function stageOrder(s: { number: number | null }, i: number): number {
  return s.number ?? 1e9 + i;
}

/** Compares run B against run A, stage by stage (stages are matched by name). */
export function diffRuns(a: LoadedRun, b: LoadedRun): RunDiff {
  const inA = new Map(a.stages.map((s) => [s.name, s]));
  const inB = new Map(b.stages.map((s) => [s.name, s]));
  const names: { name: string; order: number }[] = [];
  b.stages.forEach((s, i) => names.push({ name: s.name, order: stageOrder(s, i) }));
  a.stages.forEach((s, i) => {
    if (!inB.has(s.name)) names.push({ name: s.name, order: stageOrder(s, i) + 0.5 });
  });
  names.sort((x, y) => x.order - y.order);
  const stages = names.map(({ name }) => diffStage(a, inA.get(name), b, inB.get(name)));
  const runId = (r: LoadedRun) => r.pipeline?.run_id ?? r.stages.find((s) => s.manifest)?.manifest?.pipeline?.run_id ?? null;
  return {
    a: { runDir: a.runDir, runId: runId(a) },
    b: { runDir: b.runDir, runId: runId(b) },
    stages,
    firstDivergence: findFirstDivergence(stages),
    differs: stages.some((s) => s.differs),
  };
}

function show(value: RecordedValue | undefined): string {
  if (value === undefined) return "(unset)";
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

function ratio(r: number | null): string {
  if (r === null) return "";
  return r >= 10 || r < 0.1 ? `×${r.toPrecision(2)}` : `×${r.toFixed(2)}`;
}

function shortHash(h: string | null): string {
  return h ? h.slice(0, 12) : "-";
}

/** The diff as text: the first divergence at the top, then each stage that differs. */
export function renderDiffText(diff: RunDiff): string {
  const lines: string[] = [];
  const fd = diff.firstDivergence;
  lines.push(fd ? `first divergence: ${oneLine(fd.dir)} (${oneLine(fd.why)})` : "first divergence: none");
  lines.push(`A: ${oneLine(diff.a.runDir)}${diff.a.runId ? ` (run ${oneLine(diff.a.runId)})` : ""}`);
  lines.push(`B: ${oneLine(diff.b.runDir)}${diff.b.runId ? ` (run ${oneLine(diff.b.runId)})` : ""}`);
  const differing = diff.stages.filter((s) => s.differs);
  lines.push(
    diff.differs
      ? `${differing.length} of ${diff.stages.length} stages differ`
      : `no differences in ${diff.stages.length} stages (durations aside)`,
  );
  for (const d of diff.stages) {
    const head =
      `${oneLine(d.dir)}: ${d.status.changed ? `${d.status.a ?? "absent"} → ${d.status.b ?? "absent"}` : (d.status.b ?? "-")}, ${formatDuration(d.duration.a)} → ${formatDuration(d.duration.b)} ${ratio(d.duration.ratio)}`.trimEnd();
    if (!d.differs) {
      lines.push(`  ${head}  (same)`);
      continue;
    }
    lines.push("");
    lines.push(`${fd && d.dir === fd.dir ? "* " : "  "}${head}`);
    if (d.onlyIn) lines.push(`    only in run ${d.onlyIn.toUpperCase()}`);
    for (const c of d.config.changed) lines.push(`    config ${oneLine(c.key)}: ${oneLine(show(c.a))} → ${oneLine(show(c.b))}`);
    for (const c of d.config.added) lines.push(`    config + ${oneLine(c.key)} = ${oneLine(show(c.b))}`);
    for (const c of d.config.removed) lines.push(`    config - ${oneLine(c.key)} (was ${oneLine(show(c.a))})`);
    for (const [label, changes] of [
      ["input", d.inputs],
      ["output", d.outputs],
    ] as const) {
      for (const f of changes.changed) lines.push(`    ${label} changed: ${oneLine(f.path)} (${shortHash(f.a)} → ${shortHash(f.b)})`);
      for (const f of changes.appeared) lines.push(`    ${label} appeared: ${oneLine(f.path)}`);
      for (const f of changes.disappeared) lines.push(`    ${label} disappeared: ${oneLine(f.path)}`);
    }
    for (const w of d.warnings.added) lines.push(`    new warning: ${oneLine(w)}`);
    for (const w of d.warnings.removed) lines.push(`    warning gone: ${oneLine(w)}`);
    for (const e of d.errors.added) lines.push(`    new error: ${oneLine(e)}`);
    for (const e of d.errors.removed) lines.push(`    error gone: ${oneLine(e)}`);
  }
  return `${lines.join("\n")}\n`;
}
