// docs/cli.md's list of commands and option tables are generated from the
// commands' declarations (npm run docs:cli); this fails when they differ.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { optionsTable, renderCliDoc, startMarker } from "../../src/cli/cli-doc.js";
import { COMMAND_SPECS, EXEC, VALIDATE } from "../../src/cli/declarations.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOC = `${ROOT}docs/cli.md`;

describe("docs/cli.md", () => {
  it("has the tables the declarations make (run npm run docs:cli after changing an option)", () => {
    const doc = readFileSync(DOC, "utf8");
    expect(renderCliDoc(doc) === doc, "docs/cli.md is out of date: run npm run docs:cli").toBe(true);
  });

  it("has a table for every command, and every option in it", () => {
    const doc = readFileSync(DOC, "utf8");
    for (const spec of COMMAND_SPECS) {
      const at = doc.indexOf(startMarker(`options ${spec.name}`));
      expect(at, spec.name).toBeGreaterThanOrEqual(0);
      const table = doc.slice(at, doc.indexOf("<!-- cli:end -->", at));
      for (const name of Object.keys(spec.options)) expect(table, `${spec.name} --${name}`).toContain(`\`--${name}`);
    }
  });

  it("is refused when a table's marker is missing or names no command", () => {
    const doc = readFileSync(DOC, "utf8");
    const without = doc.replace(startMarker("options exec"), "");
    expect(() => renderCliDoc(without)).toThrow(`docs/cli.md lacks ${startMarker("options exec")}`);
    const unknown = `${doc}\n${startMarker("options frobnicate")}\n<!-- cli:end -->\n`;
    expect(() => renderCliDoc(unknown)).toThrow("names no command");
  });

  it("shows a list as repeatable, a required option as required, defaults with their variables", () => {
    const table = optionsTable(EXEC);
    expect(table).toContain("| `--stage NAME` | the stage's name | required |");
    expect(table).toMatch(/^\| `--input PATH\[:TYPE\]` \| .*\(repeatable\) \| — \|$/m);
    expect(table).toContain("| its place in `STAGETRACE_STAGES` |");
    expect(optionsTable(VALIDATE)).toBe("No options but `-h`, `--help`.");
  });

  it("scripts/gen-cli-doc.mjs --check agrees (it reads the built dist/)", () => {
    const r = spawnSync(process.execPath, [`${ROOT}scripts/gen-cli-doc.mjs`, "--check"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
