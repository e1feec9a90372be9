import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { spanFromManifest, spansFromOtlpJson, spansFromOtlpJsonText, StagetraceError } from "../src/index.js";
import type { ManifestData } from "../src/types.js";
import { VERSION } from "../src/version.js";

const root = fileURLToPath(new URL("..", import.meta.url));

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

describe("one error family", () => {
  it("bad OTLP/JSON is a StagetraceError INVALID_INPUT naming the place at fault, with the parse error as cause", () => {
    const err = thrown(() => spansFromOtlpJsonText("{not json"));
    expect(err).toBeInstanceOf(StagetraceError);
    expect((err as StagetraceError).code).toBe("INVALID_INPUT");
    expect((err as Error).message).toMatch(/^line 1: not valid JSON/);
    expect((err as Error).cause).toBeInstanceOf(SyntaxError);

    const shape = thrown(() => spansFromOtlpJson({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: "x" }] }] }] }));
    expect(shape).toBeInstanceOf(StagetraceError);
    expect((shape as StagetraceError).code).toBe("INVALID_INPUT");
  });

  it("a manifest without ended_at cannot become a span: INVALID_INPUT", () => {
    const err = thrown(() => spanFromManifest({ stage: "s", ended_at: null } as unknown as ManifestData, "/tmp/s"));
    expect(err).toBeInstanceOf(StagetraceError);
    expect((err as StagetraceError).code).toBe("INVALID_INPUT");
    expect((err as Error).message).toContain("stage s has no ended_at");
  });

  it("no module of src/ or exporters/ throws a plain Error", () => {
    const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "src", "exporters"], { cwd: root, encoding: "utf8" })
      .split("\n")
      .filter((f) => f.endsWith(".ts"));
    const offenders = files.filter((f) => /throw new (Type|Range)?Error\(/.test(readFileSync(`${root}${f}`, "utf8")));
    expect(offenders).toEqual([]);
  });

  it("a usage error exits 2 with the usage line; another StagetraceError exits 1 without it", () => {
    const bin = `${root}bin/stagetrace`;
    const usage = spawnSync(process.execPath, [bin, "replay"], { encoding: "utf8" });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toBe("stagetrace replay: expected one TRACE.json\nUsage: stagetrace replay TRACE.json --out DIR\n");
    const env = { ...process.env };
    delete env.STAGETRACE_RECORDS;
    const notUnderExec = spawnSync(process.execPath, [bin, "track", "warning", "hi"], { encoding: "utf8", env });
    expect(notUnderExec.status).toBe(1);
    expect(notUnderExec.stderr).toMatch(/^stagetrace track: STAGETRACE_RECORDS is not set: .*\n$/);
    expect(notUnderExec.stderr).not.toContain("Usage:");
  });
});

describe("the version", () => {
  it("is package.json's, the Python package's and what stagetrace --version prints", () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(readFileSync(`${root}python/stagetrace/__init__.py`, "utf8")).toContain(`__version__ = "${VERSION}"`);
    const out = spawnSync(process.execPath, [`${root}bin/stagetrace`, "--version"], { encoding: "utf8" });
    expect(out.stdout).toBe(`${VERSION}\n`);
  });
});
