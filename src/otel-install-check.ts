/**
 * Whether the OpenTelemetry packages stagetrace loads are of one
 * OpenTelemetry JS line. npm gives a package the app does not have yet the
 * newest version in stagetrace's range whose `engines` fit the running
 * Node.js, never the one that matches the app's own packages: an app on the
 * 2.x line (`@opentelemetry/api` 1.9) that runs Node.js 22.15+ without
 * `@opentelemetry/sdk-node` gets the 3.x line's exporters beside its 2.x
 * core, each with a second core of its own. No range in package.json can
 * steer that (docs/configuration.md, "Versions"), so stagetrace looks at
 * what it was given when it is loaded and says once on stderr which
 * packages are of the other line, and the npm command that puts them on the
 * app's line.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { packageRoot } from "./package-root.js";

/** An OpenTelemetry JS line: `@opentelemetry/api` 1.9 with core 2.x and 0.2xx packages, or api 1.10 with core 3.x and 0.30x packages. */
export type OtelLine = "2.x" | "3.x";

/** An OpenTelemetry package as stagetrace resolves it. */
export interface ResolvedOtelPackage {
  name: string;
  version: string;
  line: OtelLine;
}

/** Packages whose versions do not follow the lines (the same on both). */
const LINE_NEUTRAL = new Set(["@opentelemetry/semantic-conventions", "@opentelemetry/propagator-env-carrier"]);

/** The line a version of an OpenTelemetry package belongs to, or null when it is of neither. */
export function otelLineOf(name: string, version: string): OtelLine | null {
  const m = /^(\d+)\.(\d+)\./.exec(version);
  if (!m) return null;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (name === "@opentelemetry/api") return major === 1 ? (minor >= 10 ? "3.x" : "2.x") : null;
  if (major === 0) return minor >= 300 ? "3.x" : minor >= 200 ? "2.x" : null;
  return major === 2 ? "2.x" : major === 3 ? "3.x" : null;
}

/** The version of `name` that Node.js's resolution finds from `dir` (node_modules folders upward), or null. */
function resolvedVersion(dir: string, name: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    const file = join(d, "node_modules", name, "package.json");
    if (existsSync(file)) {
      const version = (JSON.parse(readFileSync(file, "utf8")) as { version?: unknown }).version;
      return typeof version === "string" ? version : null;
    }
    if (dirname(d) === d) return null;
  }
}

/** The OpenTelemetry packages stagetrace's package.json names (dependencies and peers), as resolved from `root`. */
export function resolvedOtelPackages(root: string): ResolvedOtelPackage[] {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  const names = [...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.dependencies ?? {})].filter(
    (n) => n.startsWith("@opentelemetry/") && !LINE_NEUTRAL.has(n),
  );
  const found: ResolvedOtelPackage[] = [];
  for (const name of new Set(names)) {
    const version = resolvedVersion(root, name);
    const line = version === null ? null : otelLineOf(name, version);
    if (version !== null && line !== null) found.push({ name, version, line });
  }
  return found;
}

/**
 * The warning for packages of two lines, or null when they are of one. The
 * app's line is the one of `@opentelemetry/api` (the peer the app chose),
 * else the one most packages are of. The command installs each package of
 * the other line at the app's line: a 0.x package at the version of one the
 * app already has (else the line's first version in `ranges`), any other at
 * the app's core version; `npm dedupe` then drops the copies npm left
 * nested under stagetrace.
 */
export function mixedLinesWarning(found: ResolvedOtelPackage[], ranges: Record<string, string> = {}): string | null {
  const lines = new Set(found.map((p) => p.line));
  if (lines.size < 2) return null;
  const api = found.find((p) => p.name === "@opentelemetry/api");
  const count = (l: OtelLine) => found.filter((p) => p.line === l).length;
  const app: OtelLine = api?.line ?? (count("2.x") >= count("3.x") ? "2.x" : "3.x");
  const ours = found.filter((p) => p.line === app);
  const other = found.filter((p) => p.line !== app);
  const zeroVersion = ours.find((p) => p.version.startsWith("0."))?.version;
  const coreVersion =
    ours.find((p) => p.name === "@opentelemetry/core")?.version ??
    ours.find((p) => p.name !== "@opentelemetry/api" && !p.version.startsWith("0."))?.version;
  const firstOfLine = (name: string, zero: boolean): string | undefined =>
    (ranges[name] ?? "")
      .split("||")
      .map((r) => r.trim().replace(/^[\^~]/, ""))
      .find((v) => v.startsWith("0.") === zero && otelLineOf(name, v) === app);
  const spec = (p: ResolvedOtelPackage): string => {
    const zero = p.version.startsWith("0.");
    const version = (zero ? zeroVersion : coreVersion) ?? firstOfLine(p.name, zero);
    return version === undefined ? p.name : `${p.name}@${version}`;
  };
  const anchor = ours.filter((p) => p.name === "@opentelemetry/api" || p.name === "@opentelemetry/core");
  const list = (ps: ResolvedOtelPackage[]) => ps.map((p) => `${p.name} ${p.version}`).join(", ");
  return (
    `the app is on the OpenTelemetry JS ${app} line${anchor.length > 0 ? ` (${list(anchor)})` : ""}, but npm gave stagetrace ` +
    `packages of the ${app === "2.x" ? "3.x" : "2.x"} line, which bring a second OpenTelemetry SDK: ${list(other)}. ` +
    `Put them on the app's line with: npm install ${other.map(spec).join(" ")} && npm dedupe`
  );
}

let checked = false;

/** Says once on stderr when the OpenTelemetry packages stagetrace resolves are of two lines; never throws. */
export function warnOnMixedOtelLines(): void {
  if (checked) return;
  checked = true;
  try {
    const root = packageRoot();
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    const warning = mixedLinesWarning(resolvedOtelPackages(root), { ...pkg.peerDependencies, ...pkg.dependencies });
    if (warning !== null) process.stderr.write(`stagetrace: ${warning}\n`);
  } catch {
    // A check of the install never stops stagetrace from loading.
  }
}
