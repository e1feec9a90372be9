// spanFromManifest is the inverse of manifestFromSpan: `stagetrace run` uses
// it to end the span of a stage killed before it could, so the two must agree
// on every field a real stage writes.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { manifestFromSpan } from "../../src/manifest/manifest-from-span.js";
import { spanFromManifest } from "../../src/manifest/span-from-manifest.js";
import { spawnStage } from "../support/spawn-stage.js";
import { readJson, tempDir } from "../support/tmp.js";

async function realManifests(): Promise<{ dir: string; manifest: any }[]> {
  const run = tempDir();
  const first = await spawnStage({
    OUTPUT_DIR: run,
    STAGETRACE_STAGES: "make,use",
    FIXTURE_STAGE: "make",
    FIXTURE_FILES: "3",
    FIXTURE_SECRET: "sk-test-1234567890",
    FIXTURE_LINES: "2",
  });
  expect(first.code, first.stderr).toBe(0);
  const second = await spawnStage({
    OUTPUT_DIR: run,
    STAGETRACE_STAGES: "make,use",
    FIXTURE_STAGE: "use",
    FIXTURE_INPUT: "file-1.json",
    FIXTURE_FROM: "make",
    FIXTURE_FAIL: "no good",
  });
  expect(second.code).toBe(1);
  return ["01_make", "02_use"].map((d) => ({ dir: join(run, d), manifest: readJson(join(run, d, "manifest.json")) }));
}

describe("spanFromManifest", () => {
  it("gives back, through manifestFromSpan, the manifest it was built from", async () => {
    for (const { dir, manifest } of await realManifests()) {
      const span = spanFromManifest(manifest, dir);
      expect(span.spanContext()).toMatchObject({ traceId: manifest.trace.trace_id, spanId: manifest.trace.span_id });
      const again = manifestFromSpan(span).data as any;
      const { telemetry: _t1, ...expected } = manifest;
      const { telemetry: _t2, ...actual } = again;
      expect(actual).toEqual(expected);
    }
  });

  it("refuses a manifest that has not ended", async () => {
    const { dir, manifest } = (await realManifests())[0]!;
    expect(() => spanFromManifest({ ...manifest, status: "running", ended_at: null, duration_ms: null }, dir)).toThrow(/no ended_at/);
  });
});
