#!/usr/bin/env node
// Rewrites the generated parts of docs/cli.md (the list of commands and each
// command's option table, between `<!-- cli:... -->` markers) from the
// commands' declarations in src/cli/declarations.ts, as built in dist/.
//
//   npm run docs:cli                      build, then write docs/cli.md
//   node scripts/gen-cli-doc.mjs --check  exit 1 when docs/cli.md is out of date
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderCliDoc } from "../dist/src/cli/cli-doc.js";

const DOC = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "cli.md");
const doc = readFileSync(DOC, "utf8");
const generated = renderCliDoc(doc);
if (process.argv.includes("--check")) {
  if (generated !== doc) {
    process.stderr.write("docs/cli.md is out of date: run npm run docs:cli\n");
    process.exitCode = 1;
  }
} else if (generated !== doc) {
  writeFileSync(DOC, generated);
  process.stdout.write("docs/cli.md: option tables rewritten\n");
}
