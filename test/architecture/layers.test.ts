import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importEdges, layeringViolations, unitCycle } from "../support/import-graph.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The layers of the code, lowest first (docs/architecture.md, "Layers"). A
 * module imports its own folder and lower layers only; folders that share a
 * layer know nothing of each other.
 */
const LAYERS = [
  ["src"], // errors, types, conventions, package root, process exit
  ["src/fs", "src/values"], // file-system helpers; recorded values and redaction
  ["src/config"], // options, STAGETRACE_* and OTEL_* resolved, with one rule for bad values
  ["src/manifest", "src/otlp", "src/schema", "src/run"], // pure data: span <-> manifest, OTLP/JSON, schemas, run directory
  ["exporters"], // span processors and exporters: manifest.json, OTLP
  ["src/log"], // pino logger, line routing, log files
  ["src/telemetry"], // provider wiring, process lifecycle, shutdown
  ["src/stage"], // the stage API: StageIO, runStage
  ["src/protocol"], // records from stages in other languages -> StageIO calls
  ["src/report"], // run report and diff
  ["src/report/client"], // the report page's browser script (bundled, never imported by Node code)
  ["src/cli"], // the stagetrace command
  ["src/index.ts"], // the public entry
] as const;

function sourceFiles(): string[] {
  return execFileSync("git", ["ls-files", "-co", "--exclude-standard", "src", "exporters"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
}

describe("layering", () => {
  const edges = importEdges(root, sourceFiles());

  it("reads the imports of the source tree", () => {
    // The graph is not empty, and it sees `import type` as well as value imports.
    expect(edges.length).toBeGreaterThan(100);
    expect(edges).toContainEqual({ from: "src/index.ts", to: "src/stage/stage-io.ts" });
    expect(edges).toContainEqual({ from: "src/manifest/file-event.ts", to: "src/fs/file-fingerprint.ts" });
  });

  it("no import points to a higher layer or sideways", () => {
    expect(layeringViolations(edges, LAYERS)).toEqual([]);
  });

  it("no two folders import each other, directly or around a loop", () => {
    expect(unitCycle(edges)).toBeNull();
  });
});

describe("the layering check itself", () => {
  const layers = [["src"], ["src/fs"], ["src/a", "src/b"], ["src/index.ts"]];

  it("reports an upward import, a sideways import and an unplaced folder", () => {
    const problems = layeringViolations(
      [
        { from: "src/fs/x.ts", to: "src/a/y.ts" },
        { from: "src/a/y.ts", to: "src/b/z.ts" },
        { from: "src/new/w.ts", to: "src/errors.ts" },
        { from: "src/index.ts", to: "src/a/y.ts" },
        { from: "src/a/y.ts", to: "src/a/q.ts" },
      ],
      layers,
    );
    expect(problems).toEqual([
      "src/fs/x.ts imports src/a/y.ts: src/fs may not import src/a, a higher layer",
      "src/a/y.ts imports src/b/z.ts: src/a and src/b share a layer and may not import each other",
      "src/new/w.ts: its folder src/new is in no layer",
    ]);
  });

  it("finds a cycle between folders", () => {
    expect(
      unitCycle([
        { from: "src/a/x.ts", to: "src/b/y.ts" },
        { from: "src/b/y.ts", to: "src/c/z.ts" },
        { from: "src/c/z.ts", to: "src/a/w.ts" },
      ]),
    ).toEqual(["src/a", "src/b", "src/c", "src/a"]);
    expect(unitCycle([{ from: "src/a/x.ts", to: "src/b/y.ts" }])).toBeNull();
  });
});

describe("docs/architecture.md's folder tree", () => {
  /** The .ts files the tree names, with their folders (a line ending in `/` opens a folder at its indentation). */
  function filesInTree(): string[] {
    const doc = readFileSync(`${root}docs/architecture.md`, "utf8");
    const section = doc.slice(doc.indexOf("## Folder tree"));
    const block = section.slice(section.indexOf("```\n") + 4, section.indexOf("\n```", section.indexOf("```\n") + 4));
    const folders: { indent: number; name: string }[] = [];
    const files: string[] = [];
    for (const line of block.split("\n")) {
      const indent = line.length - line.trimStart().length;
      const words = line.trim().split(/\s+/);
      if (words[0] === undefined || words[0] === "") continue;
      while (folders.length > 0 && folders[folders.length - 1]!.indent >= indent) folders.pop();
      if (words[0].endsWith("/")) {
        folders.push({ indent, name: words[0].slice(0, -1) });
        continue;
      }
      const dir = folders.map((f) => f.name).join("/");
      for (const w of words) if (w.endsWith(".ts")) files.push(`${dir}/${w}`);
    }
    return files.sort();
  }

  it("lists exactly the files of src/ and exporters/", () => {
    expect(filesInTree()).toEqual(sourceFiles().sort());
  });
});
