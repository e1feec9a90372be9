// Every Python block in the docs is valid Python (parsed by python3's own
// parser); the stages they come from run in python/tests.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOCS = [
  "README.md",
  "python/README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => join("docs", f)),
];

/** The ```python blocks of a Markdown text, with the line of their opening fence. */
function pythonBlocks(doc: string, text: string): { doc: string; line: number; code: string }[] {
  const out: { doc: string; line: number; code: string }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^```python\s*$/.test(lines[i]!)) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && !/^```\s*$/.test(lines[i]!)) body.push(lines[i]!);
    out.push({ doc, line: start + 1, code: body.join("\n") + "\n" });
  }
  return out;
}

describe("Python blocks in the docs", () => {
  const blocks = DOCS.flatMap((doc) => pythonBlocks(doc, readFileSync(join(ROOT, doc), "utf8")));

  it("exist", () => expect(blocks.length).toBeGreaterThanOrEqual(5));

  it.each(blocks.map((b) => [`${b.doc}:${b.line}`, b] as const))("%s parses", (_where, b) => {
    const r = spawnSync("python3", ["-c", "import ast, sys; ast.parse(sys.stdin.read())"], { input: b.code, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
  });
});
