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

/** The functions of node:crypto that the bundled modules import (a name missing here fails the build). */
const LAZY_CRYPTO = ["randomBytes", "createHash", "getHashes"];

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
  // An import the lazy node:crypto module does not export must fail the build, not be undefined.
  logOverride: { "import-is-undefined": "error" },
  banner: { js: BANNER },
  plugins: [
    {
      // node:crypto costs a stage process about 10 ms to load (ciphers, streams), and a stage of the
      // agent's needs it only for random ids and names: loaded on the first call, not at import.
      name: "lazy-crypto",
      setup(b) {
        b.onResolve({ filter: /^node:crypto$/ }, () => ({ path: "node:crypto", namespace: "lazy-crypto" }));
        b.onLoad({ filter: /.*/, namespace: "lazy-crypto" }, () => ({
          loader: "js",
          resolveDir: root,
          contents: [
            `import { createRequire } from "node:module";`,
            `let crypto;`,
            `const get = () => (crypto ??= createRequire(import.meta.url)("node:crypto"));`,
            ...LAZY_CRYPTO.map((name) => `export const ${name} = (...args) => get().${name}(...args);`),
            // crypto.hash (Node 21.7+), or the same digest made with createHash where the runtime has no hash().
            `export const hash = (a, data, enc) => { const c = get(); return c.hash ? c.hash(a, data, enc) : c.createHash(a).update(data).digest(enc); };`,
          ].join("\n"),
        }));
      },
    },
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
