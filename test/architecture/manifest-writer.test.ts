import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The one module that writes manifest.json (docs/architecture.md). */
const WRITER = "src/manifest/manifest-file.ts";

/** Calls that create or replace a file. */
const WRITE_CALLS = new Set([
  "writeFileAtomic",
  "writeFileSync",
  "writeFile",
  "appendFileSync",
  "appendFile",
  "renameSync",
  "rename",
  "copyFileSync",
  "copyFile",
  "cpSync",
  "linkSync",
  "createWriteStream",
  "openSync",
]);

/** What makes an expression a manifest's path or a manifest's text. */
const MANIFEST_NAMES = /^(MANIFEST_FILE|manifestPathIn|manifestPath|manifestTextFromSpan|manifestFromSpan|toJSONString)$/;

function calledName(call: ts.CallExpression): string | null {
  const e = call.expression;
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return null;
}

/** `name` of an identifier or of `this.name` / `x.name`, the key its declarations are found under. */
function nameOf(e: ts.Expression): string | null {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return null;
}

/** What one file does with files and manifests. */
interface FileFacts {
  /** `<line>: <call>` of each write call one of whose arguments is a manifest's path or text. */
  manifestWrites: string[];
  /** Whether it calls any write at all. */
  writes: boolean;
  /** Whether its code (not its comments) names the manifest file (`MANIFEST_FILE` or the literal). */
  namesManifest: boolean;
}

/**
 * Where a file writes a manifest: every write call one of whose arguments
 * is a manifest's path or text, directly (`join(dir, MANIFEST_FILE)`,
 * `m.toJSONString()`) or through a variable or property the file assigns
 * such a value to. `writeCalls` are the names of the calls that count as writes.
 */
function fileFacts(fileName: string, text: string, writeCalls: ReadonlySet<string> = WRITE_CALLS): FileFacts {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  // name -> the expressions the file gives it (declarations, assignments, property initialisers).
  const values = new Map<string, ts.Expression[]>();
  const give = (name: string, value: ts.Expression) => values.set(name, [...(values.get(name) ?? []), value]);
  const calls: ts.CallExpression[] = [];
  let namesManifest = false;
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) give(node.name.text, node.initializer);
    if (ts.isPropertyDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) give(node.name.text, node.initializer);
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
      const name = nameOf(node.left);
      if (name !== null) give(name, node.right);
    }
    if (ts.isCallExpression(node) && writeCalls.has(calledName(node) ?? "")) calls.push(node);
    if (ts.isIdentifier(node) && node.text === "MANIFEST_FILE") namesManifest = true;
    if (
      (ts.isStringLiteralLike(node) || ts.isTemplateMiddleOrTemplateTail(node) || ts.isTemplateHead(node)) &&
      node.text.includes("manifest.json")
    )
      namesManifest = true;
    ts.forEachChild(node, visit);
  };
  visit(source);

  const mentionsManifest = (e: ts.Node, seen: Set<string>): boolean => {
    if (ts.isStringLiteralLike(e) && e.text.includes("manifest.json")) return true;
    if (ts.isIdentifier(e)) {
      if (MANIFEST_NAMES.test(e.text)) return true;
      if (!seen.has(e.text)) {
        seen.add(e.text);
        if ((values.get(e.text) ?? []).some((v) => mentionsManifest(v, seen))) return true;
      }
    }
    let found = false;
    ts.forEachChild(e, (child) => {
      found ||= mentionsManifest(child, seen);
    });
    return found;
  };

  return {
    manifestWrites: calls
      .filter((call) => call.arguments.some((a) => mentionsManifest(a, new Set())))
      .map((call) => `${source.getLineAndCharacterOfPosition(call.getStart()).line + 1}: ${call.getText().split("\n")[0]}`),
    writes: calls.length > 0,
    namesManifest,
  };
}

function sourceFiles(): string[] {
  return execFileSync("git", ["ls-files", "-co", "--exclude-standard", "src", "exporters"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
}

const facts = new Map(sourceFiles().map((file) => [file, fileFacts(file, readFileSync(`${root}${file}`, "utf8"))]));

describe("manifest.json has one writer", () => {
  it(`no file but ${WRITER} writes a manifest's path or text`, () => {
    const writes = [...facts].filter(([file, f]) => file !== WRITER && f.manifestWrites.length > 0);
    expect(Object.fromEntries(writes.map(([file, f]) => [file, f.manifestWrites]))).toEqual({});
  });

  it("the manifests of the exporter, replay and StageManifest.save() go through it", () => {
    // Counting the writer's own functions as writes, the same check finds every caller: it sees manifest writes in the real tree.
    const through = new Set([...WRITE_CALLS, "writeManifestText", "writeManifestTelemetry"]);
    const callers = sourceFiles().filter(
      (file) => fileFacts(file, readFileSync(`${root}${file}`, "utf8"), through).manifestWrites.length > 0,
    );
    expect(callers).toEqual(["exporters/manifest-exporter.ts", "src/cli/replay.ts", "src/manifest/stage-manifest.ts"]);
  });

  it("a file that names manifest.json and writes files is the writer", () => {
    // Everything else that names the file (readers, the public re-export) writes nothing at all.
    const both = [...facts].filter(([, f]) => f.namesManifest && f.writes).map(([file]) => file);
    expect(both).toEqual([WRITER]);
  });
});

describe("the manifest-writer check itself", () => {
  it("finds a manifest written by path, through a variable or a property, or by its text", () => {
    const text = [
      'import { writeFileSync } from "node:fs";',
      "const path = join(dir, MANIFEST_FILE);",
      "writeFileAtomic(path, text);", // line 3: through a variable
      'writeFileSync(join(dir, "manifest.json"), "{}");', // line 4: the literal
      "class A { constructor() { this.target = path; } save() { writeFileAtomic(this.target, 'x'); } }", // line 5: a property
      "writeFileAtomic(other, m.toJSONString());", // line 6: the text
      "writeFileAtomic(join(dir, 'pipeline.json'), JSON.stringify(summary));", // line 7: not a manifest
    ].join("\n");
    const f = fileFacts("x.ts", text);
    expect(f.manifestWrites.map((w) => w.split(":")[0])).toEqual(["3", "4", "5", "6"]);
    expect(f).toMatchObject({ writes: true, namesManifest: true });
  });

  it("reads code, not comments", () => {
    const f = fileFacts("y.ts", "/** Writes manifest.json, see MANIFEST_FILE. */\nexport function f() { return readFileSync(p); }\n");
    expect(f).toEqual({ manifestWrites: [], writes: false, namesManifest: false });
  });
});
