import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The configuration module: the one place that reads `STAGETRACE_*` and `OTEL_*` variables. */
const CONFIG_DIR = "src/config/";

const NAME = /^(STAGETRACE|OTEL)_[A-Z0-9_]*$/;

/** Whether `node` is written to (`env.X = ...`, `delete env.X`): setting up a child's environment is not reading it. */
function isWritten(node: ts.Node): boolean {
  const parent = node.parent;
  if (ts.isBinaryExpression(parent) && parent.left === node && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) return true;
  return ts.isDeleteExpression(parent);
}

function isProcessEnv(e: ts.Expression): boolean {
  return ts.isPropertyAccessExpression(e) && e.name.text === "env" && ts.isIdentifier(e.expression) && e.expression.text === "process";
}

/**
 * Where a file reads a `STAGETRACE_*` or `OTEL_*` variable itself: `x.STAGETRACE_Y`,
 * `x["OTEL_Y"]` or `` x[`OTEL_${s}`] ``, any `process.env[...]`, and a variable's
 * name handed to a helper (`numberFromEnv(env, "STAGETRACE_Y", ...)`).
 * Writes, object keys (a child's environment) and names in text are not reads.
 */
function configurationReads(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (node: ts.Node) => `${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText().split("\n")[0]}`;
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && NAME.test(node.name.text) && !isWritten(node)) found.push(at(node));
    if (ts.isElementAccessExpression(node) && !isWritten(node)) {
      const key = node.argumentExpression;
      const named =
        (ts.isStringLiteralLike(key) && NAME.test(key.text)) || (ts.isTemplateExpression(key) && /^(STAGETRACE|OTEL)_/.test(key.head.text));
      if (named || isProcessEnv(node.expression)) found.push(at(node));
    }
    if (ts.isCallExpression(node)) {
      for (const a of node.arguments) if (ts.isStringLiteralLike(a) && NAME.test(a.text)) found.push(at(a));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(): string[] {
  return execFileSync("git", ["ls-files", "-co", "--exclude-standard", "src", "exporters"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
}

describe("configuration is read in src/config/ only", () => {
  const reads = new Map(sourceFiles().map((f) => [f, configurationReads(f, readFileSync(`${root}${f}`, "utf8"))]));

  it("no file outside src/config/ reads a STAGETRACE_* or OTEL_* variable", () => {
    const outside = [...reads].filter(([f, r]) => !f.startsWith(CONFIG_DIR) && r.length > 0);
    expect(Object.fromEntries(outside)).toEqual({});
  });

  it("src/config/ does (the check sees reads in the real tree)", () => {
    const inside = [...reads].filter(([f]) => f.startsWith(CONFIG_DIR)).flatMap(([, r]) => r);
    expect(inside.length).toBeGreaterThan(10);
  });
});

describe("the configuration-read check itself", () => {
  it("finds property, element and by-name reads, and lets writes, keys and text through", () => {
    const text = [
      "const a = process.env.STAGETRACE_HASH;", // 1: read
      'const b = env["OTEL_TRACES_SAMPLER"];', // 2: read
      "const c = env[`OTEL_EXPORTER_OTLP_${signal}_TIMEOUT`];", // 3: read
      "const d = process.env[RECORDS_ENV];", // 4: read
      'const e = numberFromEnv(env, "STAGETRACE_KILL_GRACE_MS", 1, bound, warn);', // 5: read by name
      "env.STAGETRACE_RUN_ID = id;", // 6: write
      "delete env.OTEL_SDK_DISABLED;", // 7: write
      "const child = { STAGETRACE_STAGE: name, ...env };", // 8: a key
      'warn("STAGETRACE_STAGES is bad"); const f = `see STAGETRACE_HASH`;', // 9: text
      "env[RECORDS_ENV] = path;", // 10: write
    ].join("\n");
    expect(configurationReads("x.ts", text).map((r) => r.split(":")[0])).toEqual(["1", "2", "3", "4", "5"]);
  });
});
