// Bundles what a stage process loads into one file each, in place of tsc's
// output:
// - dist/src/entry/package-entry.js, what `import "stagetrace"` loads: an
//   esbuild bundle of itself and the thin agent client's modules (src/entry/,
//   src/agent/ and the helpers they use). A stage process under `stagetrace
//   run` then loads one module instead of about thirty (BENCHMARKS.md, "11
//   empty stage processes").
// - dist/src/cli/main.js, the CLI: itself, its parser and declarations, and
//   `exec` with the agent client (BENCHMARKS.md, "stagetrace exec inside
//   run"). Every other subcommand, and what exec loads only when its stage
//   stays in-process (src/cli/exec-sdk.ts), stays a module of its own,
//   imported when it runs.
// Left outside both, and loaded from dist/ as before: every package
// (node_modules), the in-process entry (src/index.ts) and what a stage
// process may reach both through a bundle and through the in-process entry,
// whose classes must be the same objects (`instanceof`): StagetraceError and
// StageManifest. Run by `npm run build`, `prepare` and `npm test`.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const SHARED = [join(root, "dist", "src", "index.js")];

/** The functions of node:crypto that the bundled modules import (a name missing here fails the build). */
const LAZY_CRYPTO = ["randomBytes", "createHash", "getHashes"];

// tsc rewrites a file on every build; one that starts with the banner is this script's own output, already up to date.
const BANNER = "// bundled by scripts/build-entry-bundle.mjs from tsc's output";

/**
 * Replaces `entry` (a file of dist/) with a bundle of it and the modules it
 * imports: statically, and dynamically when the module is one of `inline`
 * (null: every module; any other `import()` stays a module of its own,
 * loaded when it runs).
 */
async function bundleInPlace(entry, inline) {
  if (readFileSync(entry, "utf8").startsWith(BANNER)) return;
  const entryDir = dirname(entry);
  /** A module outside the bundle, by the same file, as a path from the bundle's directory. */
  const outside = (path) => ({ path: `./${relative(entryDir, path)}`.replace(/^\.\/\.\.\//, "../"), external: true });
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
        name: "modules-outside",
        setup(b) {
          b.onResolve({ filter: /^\.\.?\// }, (args) => {
            const path = resolve(args.resolveDir, args.path);
            if (SHARED.includes(path)) return outside(path);
            if (args.kind === "dynamic-import" && inline !== null && !inline.includes(path)) return outside(path);
            return undefined;
          });
        },
      },
    ],
  });
  writeFileSync(entry, result.outputFiles[0].text);
}

const dist = join(root, "dist", "src");
await bundleInPlace(join(dist, "entry", "package-entry.js"), null);
await bundleInPlace(join(dist, "cli", "main.js"), [join(dist, "cli", "exec.js"), join(dist, "agent", "agent-client.js")]);
