import { readdirSync, statSync } from "node:fs";
import { StagetraceError } from "../errors.js";
import { parseJsonSafely, readFileSafely } from "../fs/safe-read.js";
import { basename, join, relative } from "node:path";
import { MANIFEST_FILE } from "../conventions.js";
import { PIPELINE_FILE } from "../run/pipeline-summary.js";
import { validateAgainstSchema, type SchemaName } from "../schema/validate.js";
import { UsageError } from "./args.js";
import type { Command } from "./command.js";

function collect(path: string, found: string[]): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    found.push(path); // reported as unreadable below
    return;
  }
  if (!isDir) {
    found.push(path);
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) collect(child, found);
    else if (entry.name === MANIFEST_FILE || entry.name === PIPELINE_FILE) found.push(child);
  }
}

export const command: Command = {
  async main(parsed, io) {
    if (parsed.positionals.length === 0) throw new UsageError("expected at least one PATH");
    const files: string[] = [];
    for (const p of parsed.positionals) collect(p, files);
    let bad = 0;
    if (files.length === 0) {
      io.stderr.write(`stagetrace validate: no manifest.json or pipeline.json under ${parsed.positionals.join(", ")}\n`);
      return 1;
    }
    for (const file of files) {
      const shown = relative(process.cwd(), file) || file;
      const schema: SchemaName = basename(file) === PIPELINE_FILE ? "pipeline" : "manifest";
      let data: unknown;
      try {
        // Never blocks on a FIFO or a device, never reads without bound.
        data = parseJsonSafely(shown, readFileSafely(file));
      } catch (err) {
        if (!(err instanceof StagetraceError)) throw err;
        const why = err.code === "INVALID_JSON" ? err.message.replace(`${shown} is `, "") : err.message;
        io.stdout.write(`${why.startsWith(shown) ? "" : `${shown}: `}${why}\n`);
        bad++;
        continue;
      }
      const problems = validateAgainstSchema(schema, data);
      if (problems.length === 0) {
        io.stdout.write(`${shown}: valid ${schema}\n`);
      } else {
        bad++;
        for (const p of problems) io.stdout.write(`${shown}: ${p.path}: ${p.message}\n`);
      }
    }
    if (files.length > 1) io.stdout.write(`${files.length - bad} of ${files.length} valid\n`);
    return bad > 0 ? 1 : 0;
  },
};
