import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import ts from "typescript";

/** One import of one module by another, both as repository-relative paths of .ts files. */
export interface ImportEdge {
  from: string;
  to: string;
}

/** Every relative import (static, `import type`, `export ... from` and `import()`) of the given .ts files. */
export function importEdges(root: string, files: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(resolve(root, file), "utf8"), true, true);
    for (const imported of info.importedFiles) {
      if (!imported.fileName.startsWith(".")) continue;
      const target = resolve(dirname(resolve(root, file)), imported.fileName).replace(/\.js$/, ".ts");
      edges.push({ from: file, to: relative(root, target) });
    }
  }
  return edges;
}

/**
 * The unit a module belongs to for layering: its folder (`src/stage`,
 * `exporters`), `src` for the files at the top of src/ other than the
 * public entry, and `src/index.ts` for the entry itself.
 */
export function unitOf(file: string): string {
  if (file === "src/index.ts") return file;
  return dirname(file);
}

/** What breaks the layering: imports that point up or sideways, and modules in no layer. */
export function layeringViolations(edges: readonly ImportEdge[], layers: readonly (readonly string[])[]): string[] {
  const rank = new Map<string, number>();
  layers.forEach((units, i) => units.forEach((u) => rank.set(u, i)));
  const problems = new Set<string>();
  for (const { from, to } of edges) {
    const a = unitOf(from);
    const b = unitOf(to);
    const ra = rank.get(a);
    const rb = rank.get(b);
    if (ra === undefined) problems.add(`${from}: its folder ${a} is in no layer`);
    if (rb === undefined) problems.add(`${from} imports ${to}, whose folder ${b} is in no layer`);
    if (ra === undefined || rb === undefined || a === b) continue;
    if (rb > ra) problems.add(`${from} imports ${to}: ${a} may not import ${b}, a higher layer`);
    else if (rb === ra) problems.add(`${from} imports ${to}: ${a} and ${b} share a layer and may not import each other`);
  }
  return [...problems];
}

/** A cycle between units (folders), as the list of units around it, or null. */
export function unitCycle(edges: readonly ImportEdge[]): string[] | null {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const a = unitOf(from);
    const b = unitOf(to);
    if (a === b) continue;
    if (!next.has(a)) next.set(a, new Set());
    next.get(a)!.add(b);
  }
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (u: string): string[] | null => {
    if (state.get(u) === "done") return null;
    if (state.get(u) === "open") return [...path.slice(path.indexOf(u)), u];
    state.set(u, "open");
    path.push(u);
    for (const v of next.get(u) ?? []) {
      const found = visit(v);
      if (found) return found;
    }
    path.pop();
    state.set(u, "done");
    return null;
  };
  for (const u of next.keys()) {
    const found = visit(u);
    if (found) return found;
  }
  return null;
}
