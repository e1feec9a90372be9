import { readdirSync, statSync } from "node:fs";
import { StagetraceError } from "../errors.js";
import { parseJsonSafely, readFileSafely } from "../fs/safe-read.js";
import { basename, join, relative } from "node:path";
import { MANIFEST_FILE } from "../conventions.js";
import { PIPELINE_FILE } from "../run/pipeline-summary.js";
import { validateAgainstSchema, type SchemaName } from "../schema/validate.js";
import { parseArgs, UsageError, type Command } from "./args.js";

const USAGE = "stagetrace validate PATH...";

const HELP = `Checks manifest.json and pipeline.json files against the JSON Schemas
shipped in the package (schema/manifest.schema.json, schema/pipeline.schema.json).
A PATH that is a directory is searched for both, recursively.
Any other file is checked as a manifest, unless it is named pipeline.json.

Each problem is printed with the JSON path it is at, e.g.
  out/run/02_asr/manifest.json: $.outputs[0].size: must be integer

Exit code: 0 when every file is valid, 1 when one is not (or cannot be read).
`;

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
  usage: USAGE,
  help: HELP,
  async main(args) {
    const parsed = parseArgs(args, {});
    if (parsed.command !== null) throw new UsageError("validate takes no command after --");
    if (parsed.positionals.length === 0) throw new UsageError("expected at least one PATH");
    const files: string[] = [];
    for (const p of parsed.positionals) collect(p, files);
    let bad = 0;
    if (files.length === 0) {
      process.stderr.write(`stagetrace validate: no manifest.json or pipeline.json under ${parsed.positionals.join(", ")}\n`);
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
        process.stdout.write(`${why.startsWith(shown) ? "" : `${shown}: `}${why}\n`);
        bad++;
        continue;
      }
      const problems = validateAgainstSchema(schema, data);
      if (problems.length === 0) {
        process.stdout.write(`${shown}: valid ${schema}\n`);
      } else {
        bad++;
        for (const p of problems) process.stdout.write(`${shown}: ${p.path}: ${p.message}\n`);
      }
    }
    if (files.length > 1) process.stdout.write(`${files.length - bad} of ${files.length} valid\n`);
    return bad > 0 ? 1 : 0;
  },
};
