// Bundles what `import "stagetrace"` loads in a stage process into one file:
// dist/src/entry/package-entry.js (tsc's output) is replaced by an esbuild
// bundle of itself and the thin agent client's modules (src/entry/, src/agent/
// and the helpers they use). A stage process under `stagetrace run` then
// loads one module instead of about thirty (BENCHMARKS.md, "11 empty stage
// processes"). Left outside the bundle, and loaded from dist/ as before:
// every package (node_modules), the in-process entry (src/index.ts) and
// what a stage process may reach both through the bundle and through the
// in-process entry, whose classes must be the same objects (`instanceof`):
// StagetraceError and StageManifest. Run by `npm run build`, `prepare` and `npm test`.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entryDir = join(root, "dist", "src", "entry");
const entry = join(entryDir, "package-entry.js");
const SHARED = [join(root, "dist", "src", "index.js")];

// tsc rewrites the file on every build; one that starts with the banner is this script's own output, already up to date.
const BANNER = "// bundled by scripts/build-entry-bundle.mjs from tsc's output";
if (readFileSync(entry, "utf8").startsWith(BANNER)) process.exit(0);

const result = await build({
  entryPoints: [entry],
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  write: false,
  logLevel: "warning",
  banner: { js: BANNER },
  plugins: [
    {
      name: "shared-modules",
      setup(b) {
        b.onResolve({ filter: /^\.\.?\// }, (args) => {
          const path = resolve(args.resolveDir, args.path);
          if (!SHARED.includes(path)) return undefined;
          return { path: `./${relative(entryDir, path)}`.replace(/^\.\/\.\.\//, "../"), external: true };
        });
      },
    },
  ],
});
writeFileSync(entry, result.outputFiles[0].text);
