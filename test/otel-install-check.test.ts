import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { mixedLinesWarning, otelLineOf, resolvedOtelPackages } from "../src/otel-install-check.js";
import { tempDir } from "./support/tmp.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Writes `<dir>/node_modules/<name>/package.json` with `version`. */
function installed(dir: string, name: string, version: string): void {
  const file = join(dir, "node_modules", name, "package.json");
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ name, version }));
}

const RANGES = {
  "@opentelemetry/api": "^1.9.0",
  "@opentelemetry/core": "^2.12.0 || ^3.1.0",
  "@opentelemetry/sdk-logs": "^0.223.0 || ^3.1.0",
  "@opentelemetry/exporter-logs-otlp-http": "^0.223.0 || ^0.301.0",
  "@opentelemetry/exporter-metrics-otlp-grpc": "^0.223.0 || ^0.301.0",
  "@opentelemetry/semantic-conventions": "^1.45.0",
};

/**
 * The tree npm leaves in an app on the 2.x line (api 1.9.1, core 2.12.0)
 * that adds stagetrace on Node.js 22.15+: the exporters it did not have
 * are 0.301 (3.x), nested under stagetrace; `withSdkLogs` puts the app's
 * own 0.223 log SDK at the top.
 */
function mixedApp(withSdkLogs: boolean): string {
  const app = tempDir("stagetrace-otel-lines-");
  const stagetrace = join(app, "node_modules", "stagetrace");
  mkdirSync(stagetrace, { recursive: true });
  writeFileSync(
    join(stagetrace, "package.json"),
    JSON.stringify({
      name: "stagetrace",
      peerDependencies: { "@opentelemetry/api": RANGES["@opentelemetry/api"] },
      dependencies: { ...RANGES, "@opentelemetry/api": undefined },
    }),
  );
  installed(app, "@opentelemetry/api", "1.9.1");
  installed(app, "@opentelemetry/core", "2.12.0");
  installed(app, "@opentelemetry/semantic-conventions", "1.45.0");
  if (withSdkLogs) installed(app, "@opentelemetry/sdk-logs", "0.223.0");
  else installed(stagetrace, "@opentelemetry/sdk-logs", "3.1.0");
  installed(stagetrace, "@opentelemetry/exporter-logs-otlp-http", "0.301.0");
  installed(stagetrace, "@opentelemetry/exporter-metrics-otlp-grpc", "0.301.0");
  return stagetrace;
}

describe("the OpenTelemetry JS line of a package version", () => {
  it("reads the API, the 0.x packages and the stable ones by their own numbering", () => {
    expect(otelLineOf("@opentelemetry/api", "1.9.1")).toBe("2.x");
    expect(otelLineOf("@opentelemetry/api", "1.10.0")).toBe("3.x");
    expect(otelLineOf("@opentelemetry/exporter-logs-otlp-http", "0.223.1")).toBe("2.x");
    expect(otelLineOf("@opentelemetry/exporter-logs-otlp-http", "0.301.0")).toBe("3.x");
    expect(otelLineOf("@opentelemetry/sdk-logs", "0.223.0")).toBe("2.x");
    expect(otelLineOf("@opentelemetry/sdk-logs", "3.1.0")).toBe("3.x");
    expect(otelLineOf("@opentelemetry/core", "2.12.0")).toBe("2.x");
    expect(otelLineOf("@opentelemetry/core", "3.1.1")).toBe("3.x");
    expect(otelLineOf("@opentelemetry/core", "1.30.0")).toBeNull();
    expect(otelLineOf("@opentelemetry/core", "not-a-version")).toBeNull();
  });
});

describe("packages of two lines", () => {
  it("resolves each package the way Node.js does from stagetrace's folder, nested copies first", () => {
    const found = resolvedOtelPackages(mixedApp(false));
    expect(found).toEqual(
      expect.arrayContaining([
        { name: "@opentelemetry/api", version: "1.9.1", line: "2.x" },
        { name: "@opentelemetry/core", version: "2.12.0", line: "2.x" },
        { name: "@opentelemetry/sdk-logs", version: "3.1.0", line: "3.x" },
        { name: "@opentelemetry/exporter-logs-otlp-http", version: "0.301.0", line: "3.x" },
        { name: "@opentelemetry/exporter-metrics-otlp-grpc", version: "0.301.0", line: "3.x" },
      ]),
    );
    // semantic-conventions is versioned apart from the lines.
    expect(found.map((p) => p.name)).not.toContain("@opentelemetry/semantic-conventions");
    expect(found).toHaveLength(5);
  });

  it("names the packages of the other line and the command that puts them on the app's line", () => {
    const warning = mixedLinesWarning(resolvedOtelPackages(mixedApp(true)), RANGES);
    expect(warning).toContain("the app is on the OpenTelemetry JS 2.x line (@opentelemetry/api 1.9.1, @opentelemetry/core 2.12.0)");
    expect(warning).toContain("@opentelemetry/exporter-logs-otlp-http 0.301.0, @opentelemetry/exporter-metrics-otlp-grpc 0.301.0");
    // The 0.x version is the one of the app's own 0.x package.
    expect(warning).toMatch(
      / npm install @opentelemetry\/exporter-logs-otlp-http@0\.223\.0 @opentelemetry\/exporter-metrics-otlp-grpc@0\.223\.0 && npm dedupe$/,
    );
  });

  it("without a 0.x package of the app's line, takes that line's first version in stagetrace's range", () => {
    const warning = mixedLinesWarning(resolvedOtelPackages(mixedApp(false)), RANGES);
    expect(warning).toMatch(
      / npm install @opentelemetry\/sdk-logs@2\.12\.0 @opentelemetry\/exporter-logs-otlp-http@0\.223\.0 @opentelemetry\/exporter-metrics-otlp-grpc@0\.223\.0 && npm dedupe$/,
    );
  });

  it("the app's line is the API's, even when most packages are of the other", () => {
    const warning = mixedLinesWarning(
      [
        { name: "@opentelemetry/api", version: "1.10.0", line: "3.x" },
        { name: "@opentelemetry/core", version: "2.12.0", line: "2.x" },
        { name: "@opentelemetry/resources", version: "2.12.0", line: "2.x" },
      ],
      { "@opentelemetry/core": "^2.12.0 || ^3.1.0", "@opentelemetry/resources": "^2.12.0 || ^3.1.0" },
    );
    expect(warning).toContain("the app is on the OpenTelemetry JS 3.x line (@opentelemetry/api 1.10.0)");
    expect(warning).toMatch(/npm install @opentelemetry\/core@3\.1\.0 @opentelemetry\/resources@3\.1\.0 && npm dedupe$/);
  });

  it("says nothing when every package is of one line", () => {
    expect(
      mixedLinesWarning([
        { name: "@opentelemetry/api", version: "1.10.0", line: "3.x" },
        { name: "@opentelemetry/core", version: "3.1.0", line: "3.x" },
        { name: "@opentelemetry/exporter-trace-otlp-proto", version: "0.301.1", line: "3.x" },
      ]),
    ).toBeNull();
  });

  it("this repository's own install is of one line: importing the package prints no warning", () => {
    const r = spawnSync(process.execPath, ["-e", "import('./dist/src/entry/package-entry.js')"], { cwd: root, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
  });
});
