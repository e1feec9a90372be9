// The tests of the OpenTelemetry JS 3.x line run stagetrace in an app on that
// line: @opentelemetry/api 1.10, @opentelemetry/sdk-node 0.301 and the
// packages docs/configuration.md's setup imports, installed with Node 24 and
// run on Node 24 and 22 (the line needs Node 22.15+; the binaries come from
// scripts/node-binaries.mjs). On first use
// the app is installed, with Node 24's npm resolution, next to stagetrace as
// `npm pack` makes it, into the git-ignored .test-tools/, saying so on
// stderr; it is built under a private name and renamed into place, so two
// test runs side by side never use a half-built one. Its folder name carries
// a hash of the packages and of stagetrace's dependency ranges, so a change
// to either installs afresh. Each test run then unpacks the current build of
// stagetrace into a folder of its own inside the app (the app's
// node_modules one level up), so it always runs this checkout's code on the
// app's 3.x packages. If anything cannot be installed, the test fails with
// the reason: it is never skipped for a missing tool.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOOLS = join(ROOT, ".test-tools");

/** What the app has before it adds stagetrace: the versions @opentelemetry/sdk-node 0.301.0 pins. */
export const OTEL_3X_PACKAGES = [
  "@opentelemetry/api@1.10.0",
  "@opentelemetry/sdk-node@0.301.0",
  "@opentelemetry/sdk-trace@3.1.0",
  "@opentelemetry/exporter-trace-otlp-proto@0.301.0",
];

/** The Node.js major the app is installed with and runs on by default. */
export const OTEL_3X_NODE_MAJOR = "24";

/** The other Node.js line the app's tests run on: the 3.x line needs 22.15 or newer. */
export const OTEL_3X_OLDEST_NODE_MAJOR = "22";

export interface Otel3xApp {
  /** The app's folder; its node_modules holds the 3.x packages and stagetrace's dependencies. */
  dir: string;
  /** The Node 24 binary. */
  node: string;
  /** Copies a fixture next to this run's stagetrace, where `import "stagetrace"` finds it; returns its path. */
  script(fixture: string): string;
  /** This run's folder: `import "stagetrace"` in a file here finds this checkout's build, other imports the app's packages. */
  run: string;
  /** The installed version of each @opentelemetry package, and every place one is installed a second time. */
  otelPackages(): { versions: Record<string, string>; nested: string[] };
  /** Removes this run's copy of stagetrace. */
  close(): void;
}

/** The `node` binary of this Node.js major, fetched from the npm registry on first use (scripts/node-binaries.mjs). */
export function nodeBinary(major: string = OTEL_3X_NODE_MAJOR): string {
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", "node-binaries.mjs"), major], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`node scripts/node-binaries.mjs ${major} failed: ${r.stderr}`);
  return join(r.stdout.trim(), "node");
}

function pack(into: string): string {
  const out = execFileSync("npm", ["pack", ROOT, "--ignore-scripts", "--silent", "--pack-destination", into], { encoding: "utf8" });
  return join(into, out.trim().split("\n").pop()!);
}

function appKey(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
  const what = JSON.stringify([OTEL_3X_PACKAGES, OTEL_3X_NODE_MAJOR, pkg.dependencies, pkg.peerDependencies]);
  return createHash("sha256").update(what).digest("hex").slice(0, 12);
}

function install(dir: string, node: string): void {
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  process.stderr.write(`test setup: installing ${OTEL_3X_PACKAGES.join(" ")} and stagetrace into ${dir} (first use only)\n`);
  writeFileSync(join(building, "package.json"), JSON.stringify({ name: "otel-3x-app", version: "1.0.0", private: true, type: "module" }));
  const tarball = pack(building);
  const env = { ...process.env, PATH: `${join(node, "..")}:${process.env.PATH ?? ""}` };
  const r = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", ...OTEL_3X_PACKAGES, tarball], {
    cwd: building,
    env,
    encoding: "utf8",
  });
  if (r.status !== 0) {
    rmSync(building, { recursive: true, force: true });
    throw new Error(`npm install of the OpenTelemetry 3.x app failed (network access to the npm registry is needed):\n${r.stderr}`);
  }
  rmSync(tarball);
  try {
    renameSync(building, dir);
  } catch {
    // Another test run finished first: use its app.
    rmSync(building, { recursive: true, force: true });
  }
  process.stderr.write(`test setup: the OpenTelemetry 3.x app is ready\n`);
}

/** Makes sure the app is installed, and unpacks this checkout's stagetrace (as `npm pack` makes it, from dist/) into a run folder of its own. */
export function ensureOtel3xApp(): Otel3xApp {
  const node = nodeBinary();
  const dir = join(TOOLS, `otel-3.x-${appKey()}`);
  if (!existsSync(join(dir, "node_modules", "@opentelemetry", "sdk-node", "package.json"))) install(dir, node);
  mkdirSync(join(dir, "runs"), { recursive: true });
  const run = mkdtempSync(join(dir, "runs", "run-"));
  const own = join(run, "node_modules", "stagetrace");
  mkdirSync(own, { recursive: true });
  execFileSync("tar", ["-xzf", pack(run), "-C", own, "--strip-components=1"]);
  return {
    dir,
    node,
    run,
    script(fixture) {
      const to = join(run, fixture.split("/").pop()!);
      writeFileSync(to, readFileSync(fixture));
      return to;
    },
    otelPackages() {
      const versions: Record<string, string> = {};
      const nested: string[] = [];
      const top = join(dir, "node_modules", "@opentelemetry");
      for (const name of readdirSync(top)) {
        versions[`@opentelemetry/${name}`] = (
          JSON.parse(readFileSync(join(top, name, "package.json"), "utf8")) as { version: string }
        ).version;
      }
      for (const f of readdirSync(join(dir, "node_modules"), { recursive: true, encoding: "utf8" })) {
        if (/node_modules\/@opentelemetry\/[^/]+$/.test(f)) nested.push(f);
      }
      return { versions, nested };
    },
    close() {
      rmSync(run, { recursive: true, force: true });
    },
  };
}
