// The one writer of manifest.json: the whole text, and the telemetry section
// rewritten once the export has ended, with the rest of the file copied
// rather than parsed and serialised again.
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ManifestExporter } from "../../exporters/manifest-exporter.js";
import { initTelemetry, StageIO, StageManifest, StagetraceError } from "../../src/index.js";
import { manifestPathIn, writeManifestTelemetry, writeManifestText } from "../../src/manifest/manifest-file.js";
import { manifestFromSpan } from "../../src/manifest/manifest-from-span.js";
import type { ManifestTelemetry } from "../../src/types.js";
import { tempDir } from "../support/tmp.js";

beforeAll(() => {
  initTelemetry({});
});

const FINAL: ManifestTelemetry = {
  endpoint: "http://collector.invalid:4318/v1/traces",
  state: "final",
  exported: 3,
  dropped: 1,
  events_omitted: 2,
  log_records_exported: 40,
  log_records_dropped: 5,
};

function thrown(f: () => void): StagetraceError {
  try {
    f();
  } catch (err) {
    if (err instanceof StagetraceError) return err;
    throw err;
  }
  throw new Error("did not throw");
}

describe("writeManifestTelemetry", () => {
  it("gives the text the manifest would have had with that section, across multi-byte characters at a chunk boundary", () => {
    const path = manifestPathIn(join(tempDir(), "01_big"));
    // A manifest of 1.5 MB whose 1 MiB mark (where the copy of the head is cut) falls inside a three-byte character.
    let manifest: StageManifest | undefined;
    for (let pad = 0; pad < 3; pad++) {
      const m = new StageManifest("big", 1);
      // Set directly: setConfig would truncate a value this long.
      Object.assign(m.data.config, { pad: "x".repeat(pad), text: "€ü✓".repeat(200_000), trap: '\n  "telemetry": {}\n}\n' });
      if ((Buffer.from(m.toJSONString())[1024 * 1024]! & 0xc0) === 0x80) manifest = m;
    }
    expect(manifest).toBeDefined();
    writeManifestText(path, manifest!.toJSONString());

    writeManifestTelemetry(path, FINAL);
    const expected = new StageManifest({ ...manifest!.toDict(), telemetry: FINAL }).toJSONString();
    expect(readFileSync(path, "utf8")).toBe(expected);
    expect(JSON.parse(readFileSync(path, "utf8")).telemetry).toEqual(FINAL);
  });

  it("refuses a file that does not end with a telemetry section, naming it and leaving it as it was", () => {
    // Not named manifest.json: the suite validates every manifest a test leaves behind.
    const path = join(tempDir(), "not-a-manifest.json");
    writeFileSync(path, '{\n  "stage": "x"\n}\n');
    const err = thrown(() => writeManifestTelemetry(path, FINAL));
    expect(err.code).toBe("IO_ERROR");
    expect(err.message).toContain(path);
    expect(readFileSync(path, "utf8")).toBe('{\n  "stage": "x"\n}\n');
  });

  it("names a manifest that is not there", () => {
    const path = manifestPathIn(join(tempDir(), "gone"));
    const err = thrown(() => writeManifestTelemetry(path, FINAL));
    expect(err.code).toBe("IO_ERROR");
    expect(err.message).toContain(`could not read ${path} (ENOENT`);
  });
});

describe("ManifestExporter.recordTelemetry", () => {
  it("leaves each manifest it wrote as manifestFromSpan would write it with the final counts", async () => {
    const io = new StageIO("counted", { outputBase: tempDir() });
    io.setConfig({ note: "ünïcödé" });
    io.trackOutput(io.saveJson({ a: 1 }, "out.json"));
    await io.finalize("success");
    const span = io.span as unknown as ReadableSpan;
    const endpoint = "http://collector.invalid:4318/v1/traces";
    const exporter = new ManifestExporter({ endpoint });
    expect(exporter.writeManifest(span)).toBe(io.manifestPath);
    expect(readFileSync(io.manifestPath!, "utf8")).toBe(
      manifestFromSpan(span, { endpoint, state: "pending", events_omitted: 0 }).toJSONString(),
    );

    const counts = { exported: 1, dropped: 0, log_records_exported: 7, log_records_dropped: 2 };
    exporter.recordTelemetry(counts);
    expect(readFileSync(io.manifestPath!, "utf8")).toBe(
      manifestFromSpan(span, { endpoint, state: "final", events_omitted: 0, ...counts }).toJSONString(),
    );
  });
});
