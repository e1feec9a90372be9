// Bundles what a stage process loads into one file each, in place of tsc's
// output:
// - dist/src/entry/package-entry.js, what `import "stagetrace"` loads: an
//   esbuild bundle of itself and the thin agent client's modules (src/entry/,
//   src/agent/ and the helpers they use). A stage process under `stagetrace
//   run` then loads one module instead of about thirty (BENCHMARKS.md, "11
//   empty stage processes").
// - dist/src/cli/main.js, the CLI: itself, its parser and declarations,
//   `run` up to the start of its pipeline, and `exec` with the agent client
//   (BENCHMARKS.md, "stagetrace exec inside run" and "11 empty stage
//   processes"). Every other subcommand, run's OpenTelemetry side
//   (src/cli/run-sdk.ts, loaded while the pipeline runs) and what exec loads
//   only when its stage stays in-process (src/cli/exec-sdk.ts), stays a
//   module of its own, imported when it runs.
// In both, a node built-in is taken without its ES module facade, and
// node:crypto on first use (the plugins below say why).
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

/** What `No matching export` errors name: the names the bundled modules import from each node built-in. */
function importedNames(errors) {
  const names = new Map();
  for (const e of errors) {
    const named = /^No matching export in "builtin:(node:[^"]+)" for import "([^"]+)"$/.exec(e.text);
    const none = /^Import "([^"]+)" will always be undefined because the file "builtin:(node:[^"]+)" has no exports$/.exec(e.text);
    const [builtin, name] = named ? [named[1], named[2]] : none ? [none[2], none[1]] : [null, null];
    if (builtin === null) return null;
    if (!names.get(builtin)?.includes(name)) names.set(builtin, [...(names.get(builtin) ?? []), name]);
  }
  return names;
}

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
  // The stand-in for a node built-in exports what the modules import from it, read at load: a first
  // build with stand-ins that export nothing names them in its errors. Not every export, because
  // reading one can load more or warn (fs.F_OK is deprecated on Node 24), and not the built-in's
  // shape on the Node that builds: the bundle runs on Node 20, 22 and 24.
  let names = new Map();
  try {
    await bundle(entry, inline, outside, names, "silent");
  } catch (err) {
    names = importedNames(err.errors ?? []);
    if (names === null) throw err;
  }
  const result = await bundle(entry, inline, outside, names, "warning");
  writeFileSync(entry, result.outputFiles[0].text);
}

/** One esbuild run of bundleInPlace, with `names` the exports of each built-in's stand-in. */
function bundle(entry, inline, outside, names, logLevel) {
  return build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    write: false,
    logLevel,
    // An import the lazy node:crypto module or a built-in's stand-in does not export must fail the build, not be undefined.
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
              `import { builtin } from "builtin-loader";`,
              `let crypto;`,
              `const get = () => (crypto ??= builtin("node:crypto"));`,
              ...LAZY_CRYPTO.map((name) => `export const ${name} = (...args) => get().${name}(...args);`),
              // crypto.hash (Node 21.7+), or the same digest made with createHash where the runtime has no hash().
              `export const hash = (a, data, enc) => { const c = get(); return c.hash ? c.hash(a, data, enc) : c.createHash(a).update(data).digest(enc); };`,
            ].join("\n"),
          }));
        },
      },
      {
        // `import { x } from "node:fs"` in an ES module makes Node build the module's ES facade, which
        // reads every export, getters included: fs's ReadStream getter loads the streams, and on Node 20
        // util's parseArgs and MIMEType load theirs (about 4-5 ms in a profiled stage process). The
        // stand-in takes the built-in with process.getBuiltinModule (Node 20.16+; `require` before)
        // and exports the names the bundled modules import from it (see bundleInPlace), nothing else.
        name: "builtins-without-facade",
        setup(b) {
          b.onResolve({ filter: /^node:[a-z_/]+$/ }, (args) => ({ path: args.path, namespace: "builtin" }));
          b.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => ({
            loader: "js",
            resolveDir: root,
            contents: [
              `import { builtin } from "builtin-loader";`,
              `const m = builtin(${JSON.stringify(args.path)});`,
              // The default export of a built-in is the module itself, as with `import x from "node:fs"`.
              ...(names.get(args.path) ?? []).map((key) => (key === "default" ? `export default m;` : `export const ${key} = m.${key};`)),
            ].join("\n"),
          }));
          b.onResolve({ filter: /^builtin-loader$/ }, () => ({ path: "builtin-loader", namespace: "builtin-loader" }));
          b.onLoad({ filter: /.*/, namespace: "builtin-loader" }, () => ({
            loader: "js",
            resolveDir: root,
            contents: [
              // The one built-in taken the usual way: node:module, whose facade costs little, for Node 20 before 20.16.
              `import * as nodeModule from "node:module?facade";`,
              `export const builtin = process.getBuiltinModule ? (name) => process.getBuiltinModule(name) : nodeModule.createRequire(import.meta.url);`,
            ].join("\n"),
          }));
          b.onResolve({ filter: /^node:module\?facade$/ }, () => ({ path: "node:module", external: true }));
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
}

const dist = join(root, "dist", "src");
await bundleInPlace(join(dist, "entry", "package-entry.js"), null);
await bundleInPlace(join(dist, "cli", "main.js"), [
  join(dist, "cli", "run.js"),
  join(dist, "cli", "exec.js"),
  join(dist, "agent", "agent-client.js"),
]);
