import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { StagetraceError } from "./errors.js";

let root: string | undefined;

/** The installed package's root directory (where package.json, bin/ and schema/ are), from src/ or dist/. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "schema", "manifest.schema.json")) && existsSync(join(dir, "package.json"))) return (root = dir);
    const up = dirname(dir);
    if (up === dir)
      throw new StagetraceError("NOT_FOUND", "stagetrace: cannot find the package's root directory (package.json and schema/)");
    dir = up;
  }
}
