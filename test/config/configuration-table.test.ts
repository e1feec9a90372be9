// docs/configuration.md's table of options and variables is the table in
// src/config/configuration-table.ts (UPDATE_CONFIGURATION_TABLE=1 rewrites
// the page from it), and that table names every STAGETRACE_* variable that
// stagetrace's code, CLI launcher or Python package mentions.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CONFIGURATION_ROWS, configurationTable } from "../../src/config/configuration-table.js";
import { SETTING_VARIABLES } from "../../src/config/stagetrace-settings.js";
import { LOG_DEADLINE_MESSAGE } from "../../src/conventions.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const DOC = `${root}docs/configuration.md`;
const START = "<!-- configuration:start (generated from src/config/configuration-table.ts) -->";
const END = "<!-- configuration:end -->";

/** The variables the table names, from its `variables` column. */
function documented(): Set<string> {
  return new Set(CONFIGURATION_ROWS.flatMap((r) => [...r.variables.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!)));
}

/** Every STAGETRACE_* name in the sources of the package: TypeScript, the CLI launcher and the Python package. */
function namedInCode(): Map<string, string> {
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "src", "exporters", "bin", "python/stagetrace"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\n")
    .filter(Boolean);
  const names = new Map<string, string>();
  for (const f of files) {
    for (const m of readFileSync(`${root}${f}`, "utf8").matchAll(/\bSTAGETRACE_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      if (!names.has(m[0])) names.set(m[0], f);
    }
  }
  // The log worker's deadline message is a message type, not a variable.
  names.delete(LOG_DEADLINE_MESSAGE);
  return names;
}

describe("docs/configuration.md's table of options and variables", () => {
  it("is the table of src/config/configuration-table.ts", () => {
    const doc = readFileSync(DOC, "utf8");
    const expected = `${START}\n${configurationTable()}\n${END}`;
    const at = doc.indexOf(START);
    const end = doc.indexOf(END);
    if (process.env.UPDATE_CONFIGURATION_TABLE && at >= 0 && end > at) {
      writeFileSync(DOC, doc.slice(0, at) + expected + doc.slice(end + END.length));
      return;
    }
    expect(at, `docs/configuration.md lacks ${START}`).toBeGreaterThanOrEqual(0);
    expect(doc.slice(at, end + END.length)).toBe(expected);
  });

  it("names every STAGETRACE_* variable the code mentions", () => {
    const names = namedInCode();
    expect(names.size).toBeGreaterThan(20);
    const table = documented();
    const missing = [...names].filter(([name]) => !table.has(name)).map(([name, file]) => `${name} (in ${file})`);
    expect(missing).toEqual([]);
  });

  it("names every variable the settings read, and none that nothing mentions", () => {
    const table = documented();
    expect(SETTING_VARIABLES.filter((v) => !table.has(v))).toEqual([]);
    const names = namedInCode();
    const stale = [...table].filter((v) => v.startsWith("STAGETRACE_") && !names.has(v));
    expect(stale).toEqual([]);
  });
});
