#!/usr/bin/env node
// Installs stagetrace, as `npm pack` makes it, into a scratch app next to the
// OpenTelemetry Node SDK of one OpenTelemetry JS line, the way a user adds it
// to an app that already has that SDK, and checks with `npm ls` that the
// install succeeds (no ERESOLVE) and that no @opentelemetry package is
// installed in two versions. Usage: node scripts/check-install.mjs [2.x] [3.x]
// (default: 2.x). Exit code 1 names what failed.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** What an app on each line has before it adds stagetrace. */
const LINES = {
  "2.x": ["@opentelemetry/api@1.9.1", "@opentelemetry/sdk-node@0.223.0"],
  "3.x": ["@opentelemetry/api@1.10.0", "@opentelemetry/sdk-node@0.301.0"],
};
const lines = process.argv.slice(2).length ? process.argv.slice(2) : ["2.x"];
for (const l of lines) {
  if (!(l in LINES)) {
    process.stderr.write(`check-install: unknown line ${l}; one of ${Object.keys(LINES).join(", ")}\n`);
    process.exit(2);
  }
}

/** Every @opentelemetry/* package in `npm ls --all --json` that appears in more than one version. */
function duplicates(tree) {
  const seen = new Map();
  const walk = (deps) => {
    for (const [name, node] of Object.entries(deps ?? {})) {
      if (name.startsWith("@opentelemetry/") && node.version) {
        if (!seen.has(name)) seen.set(name, new Set());
        seen.get(name).add(node.version);
      }
      walk(node.dependencies);
    }
  };
  walk(tree.dependencies);
  return [...seen].filter(([, v]) => v.size > 1).map(([n, v]) => `${n} ${[...v].join(" and ")}`);
}

const work = mkdtempSync(join(tmpdir(), "stagetrace-install-"));
let failed = false;
try {
  const tarball = join(work, execFileSync("npm", ["pack", root, "--pack-destination", work, "--silent"], { encoding: "utf8" }).trim().split("\n").pop());
  for (const line of lines) {
    const app = join(work, `app-${line}`);
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: `app-${line.replace(".", "")}`, version: "1.0.0", private: true }));
    const npm = (args) => spawnSync("npm", [...args, "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: app, encoding: "utf8" });
    let r = npm(["install", ...LINES[line]]);
    if (r.status === 0) r = npm(["install", tarball]);
    if (r.status !== 0) {
      const why = /ERESOLVE/.test(r.stderr) ? "ERESOLVE" : `exit code ${r.status}`;
      process.stdout.write(`${line}: npm install stagetrace failed (${why})\n${r.stderr.split("\n").slice(0, 12).join("\n")}\n`);
      failed = true;
      continue;
    }
    const ls = spawnSync("npm", ["ls", "--all", "--json"], { cwd: app, encoding: "utf8" });
    const dups = duplicates(JSON.parse(ls.stdout));
    if (dups.length > 0) {
      process.stdout.write(`${line}: installed twice: ${dups.join("; ")}\n`);
      failed = true;
    } else process.stdout.write(`${line}: stagetrace installs next to ${LINES[line].join(", ")} with one copy of every @opentelemetry package\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
