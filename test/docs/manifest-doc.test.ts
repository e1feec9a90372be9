// docs/manifest.md is generated from the JSON Schemas (npm run docs:manifest)
// and must not drift from them.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = join(ROOT, "scripts", "gen-manifest-doc.mjs");

function generated(): string {
  const r = spawnSync(process.execPath, [SCRIPT, "--stdout"], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** Every key of a schema, as the page names it: `a`, `a.b`, `list[].c`, and the keys of each $defs entry. */
function schemaKeys(schema: any): string[] {
  const keys: string[] = [];
  const walk = (node: any, prefix: string) => {
    for (const [k, child] of Object.entries<any>(node.properties ?? {})) {
      keys.push(prefix + k);
      if (child.properties) walk(child, `${prefix}${k}.`);
      if (child.items?.properties) walk(child.items, `${prefix}${k}[].`);
    }
  };
  walk(schema, "");
  for (const def of Object.values<any>(schema.$defs ?? {})) walk(def, "");
  return keys;
}

describe("docs/manifest.md", () => {
  const page = readFileSync(join(ROOT, "docs", "manifest.md"), "utf8");

  it("is what scripts/gen-manifest-doc.mjs generates from the schemas (run npm run docs:manifest)", () => {
    expect(page === generated(), "docs/manifest.md is out of date: run npm run docs:manifest").toBe(true);
  });

  it("has a row, with a meaning, for every key of manifest.schema.json and pipeline.schema.json", () => {
    for (const file of ["manifest.schema.json", "pipeline.schema.json"]) {
      const schema = JSON.parse(readFileSync(join(ROOT, "schema", file), "utf8"));
      const keys = schemaKeys(schema);
      expect(keys.length).toBeGreaterThan(10);
      for (const key of keys) {
        const row = page.split("\n").find((l) => l.startsWith(`| \`${key}\` |`));
        expect(row, `${file}: no row for ${key}`).toBeDefined();
        const cells = row!.split(" | ");
        expect(cells[cells.length - 1]!.replace(/\|\s*$/, "").trim().length, `${file}: ${key} has no meaning`).toBeGreaterThan(3);
      }
    }
  });

  it("--check, the npm script's check mode, agrees (exit 0)", () => {
    const ok = spawnSync(process.execPath, [SCRIPT, "--check"], { encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
  });
});
