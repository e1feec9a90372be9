#!/usr/bin/env node
// Installs stagetrace, as `npm pack` makes it, into a scratch app next to the
// OpenTelemetry Node SDK of one OpenTelemetry JS line, the way a user adds it
// to an app that already has that SDK, and checks with `npm ls` that the
// install succeeds (no ERESOLVE), that no @opentelemetry package is
// installed in two versions, and that `npm ls` finds no unmet peer range.
// Usage: node scripts/check-install.mjs [APP...] (default: 2.x), APP one of
// 2.x and 3.x (an app with the Node SDK of that line), alone and alone-24
// (an app that installs only stagetrace, on this Node.js and on Node 24:
// the install is of one line, importing it says nothing, and a stage runs
// and writes its manifest; OpenTelemetry's exact pins within a line may
// still leave patch-level pairs such as core 2.12.0 and 2.12.1, which are
// printed, not failed), 3.x-no-sdk-node (an
// app with that line's trace SDK and one exporter at their newest patch, no
// sdk-node), and
// 2.x-no-sdk-node: the same on the 2.x line on Node 24, where npm gives
// stagetrace the 3.x line's exporters (it picks by Node.js version, and no
// range can steer it): there the check is that importing stagetrace warns
// and that the command the warning names leaves one copy of every package
// and no warning. The 3.x line needs Node.js 22.15 or newer: those apps are
// installed with the Node 24 of scripts/node-binaries.mjs on PATH, as an app
// on that line would be. Exit code 1 names what failed.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/**
 * What an app on each line has before it adds stagetrace: the API, the Node
 * SDK, and what docs/configuration.md's setup imports besides, at the
 * versions that SDK release pins; and the Node.js major it runs on (null:
 * the one running this script).
 */
const LINES = {
  "2.x": {
    node: null,
    fix: false,
    packages: [
      "@opentelemetry/api@1.9.1",
      "@opentelemetry/sdk-node@0.223.0",
      "@opentelemetry/sdk-trace-base@2.12.0",
      "@opentelemetry/exporter-trace-otlp-proto@0.223.0",
    ],
  },
  "3.x": {
    node: "24",
    fix: false,
    packages: [
      "@opentelemetry/api@1.10.0",
      "@opentelemetry/sdk-node@0.301.0",
      "@opentelemetry/sdk-trace@3.1.0",
      "@opentelemetry/exporter-trace-otlp-proto@0.301.0",
    ],
  },
  // An app that adds the trace SDK and an exporter of the line now: their newest patch, as npm picks it for stagetrace's
  // packages too. One pinned at an older patch gets patch-level pairs (docs/configuration.md, "Versions").
  "3.x-no-sdk-node": {
    node: "24",
    fix: false,
    packages: ["@opentelemetry/api@^1.10.0", "@opentelemetry/sdk-trace@^3.1.0", "@opentelemetry/exporter-trace-otlp-proto@^0.301.0"],
  },
  alone: { node: null, fix: false, packages: [] },
  "alone-24": { node: "24", fix: false, packages: [] },
  "2.x-no-sdk-node": {
    node: "24",
    fix: true,
    packages: ["@opentelemetry/api@1.9.1", "@opentelemetry/sdk-trace-node@2.12.0", "@opentelemetry/exporter-trace-otlp-proto@0.223.0"],
  },
};
/** What importing stagetrace says on stderr in `app`. */
const importWarning = (app, env) =>
  spawnSync("node", ["--input-type=module", "-e", "await import('stagetrace')"], { cwd: app, encoding: "utf8", env }).stderr.trim();
const lines = process.argv.slice(2).length ? process.argv.slice(2) : ["2.x"];
for (const l of lines) {
  if (!(l in LINES)) {
    process.stderr.write(`check-install: unknown line ${l}; one of ${Object.keys(LINES).join(", ")}\n`);
    process.exit(2);
  }
}

/** The OpenTelemetry JS line of a package version: 0.30x and 3.x are "3", 0.2xx and 2.x "2". */
const lineOf = (v) => {
  const [major, minor] = v.split(".").map(Number);
  return major === 0 ? (minor >= 300 ? "3" : "2") : String(major);
};

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
  const tarball = join(
    work,
    execFileSync("npm", ["pack", root, "--pack-destination", work, "--silent"], { encoding: "utf8" }).trim().split("\n").pop(),
  );
  for (const line of lines) {
    const app = join(work, `app-${line}`);
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: `app-${line.replace(".", "")}`, version: "1.0.0", private: true }));
    const { node, packages, fix } = LINES[line];
    const env = { ...process.env };
    if (node !== null) {
      const bin = execFileSync(process.execPath, [join(root, "scripts", "node-binaries.mjs"), node], { encoding: "utf8" }).trim();
      env.PATH = `${bin}:${env.PATH ?? ""}`;
    }
    const npm = (args) => spawnSync("npm", [...args, "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: app, encoding: "utf8", env });
    const nodeVersion = spawnSync("node", ["--version"], { env, encoding: "utf8" }).stdout.trim();
    let r = packages.length > 0 ? npm(["install", ...packages]) : { status: 0, stderr: "" };
    if (r.status === 0) r = npm(["install", tarball]);
    if (r.status !== 0) {
      const why = /ERESOLVE/.test(r.stderr) ? "ERESOLVE" : `exit code ${r.status}`;
      process.stdout.write(`${line}: npm install stagetrace failed (${why})\n${r.stderr.split("\n").slice(0, 12).join("\n")}\n`);
      failed = true;
      continue;
    }
    if (fix) {
      // npm gave stagetrace the other line's packages: stagetrace says so, with the command that fixes it.
      const warning = importWarning(app, env);
      const command = /Put them on the app's line with: npm install (.*) && npm dedupe$/.exec(warning);
      if (command === null) {
        process.stdout.write(`${line}: importing stagetrace gives no fix for the mixed lines; it says: ${warning || "nothing"}\n`);
        failed = true;
        continue;
      }
      r = npm(["install", ...command[1].split(" ")]);
      if (r.status === 0) r = npm(["dedupe"]);
      if (r.status !== 0) {
        process.stdout.write(
          `${line}: the warned command fails (exit code ${r.status})\n${r.stderr.split("\n").slice(0, 12).join("\n")}\n`,
        );
        failed = true;
        continue;
      }
    }
    const after = importWarning(app, env);
    if (after !== "") {
      process.stdout.write(`${line}: importing stagetrace warns: ${after}\n`);
      failed = true;
    }
    if (packages.length === 0) {
      // stagetrace alone: a stage runs and writes its manifest with what npm installed.
      const out = join(app, "out");
      const run = spawnSync(
        "node",
        ["--input-type=module", "-e", "const m = await import('stagetrace'); process.exitCode = await m.runStage('s', async () => {});"],
        { cwd: app, encoding: "utf8", env: { ...env, OUTPUT_DIR: out } },
      );
      if (run.status !== 0 || !existsSync(join(out, "s", "manifest.json"))) {
        process.stdout.write(`${line}: a stage does not run (exit code ${run.status}): ${run.stderr.trim()}\n`);
        failed = true;
      }
    }
    const ls = spawnSync("npm", ["ls", "--all", "--json"], { cwd: app, encoding: "utf8", env });
    const tree = JSON.parse(ls.stdout);
    let dups = duplicates(tree);
    if (packages.length === 0) {
      const pairs = dups.filter(
        (d) =>
          new Set(
            d
              .split(" ")
              .filter((w) => /^\d/.test(w))
              .map(lineOf),
          ).size === 1,
      );
      if (pairs.length > 0) process.stdout.write(`${line}: one line, with patch-level pairs: ${pairs.join("; ")}\n`);
      dups = dups.filter((d) => !pairs.includes(d));
    }
    // npm ls fails on a missing dependency or an unmet peer range (an SDK of the other line next to the app's API).
    if (ls.status !== 0) {
      process.stdout.write(`${line}: npm ls finds problems:\n  ${(tree.problems ?? [ls.stderr.trim()]).join("\n  ")}\n`);
      failed = true;
    }
    if (dups.length > 0) {
      process.stdout.write(`${line}: installed twice: ${dups.join("; ")}\n`);
      failed = true;
    } else if (ls.status === 0)
      process.stdout.write(
        `${line}: on Node ${nodeVersion}, stagetrace installs${packages.length > 0 ? ` next to ${packages.join(", ")}` : " alone"}${fix ? ", after the command its warning names," : ""} ${packages.length > 0 ? "with one copy of every @opentelemetry package" : "on one OpenTelemetry line, and a stage runs"}\n`,
      );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
