// The manifest exporter writes a stage's manifest in pieces (file lists a
// batch at a time) and StageIO appends file events to its own spans without
// addEvent's copies: both are shortcuts, and each must give exactly what the
// long way gives.
import { BasicTracerProvider, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initTelemetry, StageIO } from "../../src/index.js";
import { manifestFromSpan, manifestTextFromSpan } from "../../src/manifest/manifest-from-span.js";
import { isoTimestamp } from "../../src/fs/file-fingerprint.js";
import { tempDir } from "../support/tmp.js";

beforeAll(() => {
  initTelemetry({});
});

/** A finished stage with files of every role, metadata, config, warnings and an error, some of it made to look like the manifest's own layout. */
async function busyStage(): Promise<{ io: StageIO; span: ReadableSpan }> {
  const run = tempDir();
  const data = join(run, "data");
  mkdirSync(data);
  const io = new StageIO("busy", { outputBase: run });
  io.setConfig({ trap: '\n  "inputs": [],\n  "outputs": []', inputs: { nested: [1, 2] } });
  for (let i = 0; i < 5; i++) {
    const path = join(data, `in-${i}.txt`);
    writeFileSync(path, `input ${i}\n`);
    io.trackInput(path, "text", i === 2 ? { inputs: [], note: 'a "quoted" },{ value' } : {});
  }
  io.trackInput(join(data, "missing.txt"));
  io.trackOutput(io.saveJson({ ü: "ünïcödé ✓" }, "out.json"), "json", { lang: "de" });
  io.trackIntermediate(join(data, "in-0.txt"), { retained: true, reason: "cache" });
  io.addWarning("careful");
  io.addError("went wrong", new TypeError("bad type"));
  await io.finalize("failed");
  return { io, span: io.span as unknown as ReadableSpan };
}

describe("manifestTextFromSpan", () => {
  it("joined, is the manifest's JSON text, whatever the batch size, and is what was written", async () => {
    const { io, span } = await busyStage();
    const telemetry = { endpoint: null, state: "local" as const };
    const whole = manifestFromSpan(span, telemetry).toJSONString();
    for (const batch of [1, 2, 3, 1000]) expect([...manifestTextFromSpan(span, telemetry, batch)].join("")).toBe(whole);
    expect(readFileSync(io.manifestPath!, "utf8")).toBe(whole);
    const parsed = JSON.parse(whole);
    expect(parsed.inputs).toHaveLength(6);
    expect(parsed.outputs).toHaveLength(1);
    expect(parsed.intermediate_files).toHaveLength(1);
    expect(parsed.config.trap).toBe('\n  "inputs": [],\n  "outputs": []');
  });

  it("leaves empty lists as they are", async () => {
    const io = new StageIO("empty", { outputBase: tempDir() });
    await io.finalize("success");
    const span = io.span as unknown as ReadableSpan;
    const text = [...manifestTextFromSpan(span)].join("");
    expect(text).toBe(manifestFromSpan(span).toJSONString());
    expect(text).toContain('"inputs": [],\n  "outputs": [],\n  "intermediate_files": [],');
  });
});

describe("file events on stagetrace's own spans", () => {
  it("are what addEvent would have stored", async () => {
    const { span } = await busyStage();
    const fileEvents = span.events.filter((e) => e.name === "stagetrace.file");
    expect(fileEvents).toHaveLength(8);
    const reference = new BasicTracerProvider().getTracer("reference").startSpan("reference") as unknown as ReadableSpan & {
      addEvent(name: string, attributes: unknown, time: unknown): void;
    };
    for (const e of fileEvents) reference.addEvent(e.name, e.attributes, e.time);
    expect(reference.events).toEqual(fileEvents);
  });
});

describe("isoTimestamp", () => {
  it("formats a Stats time as the Stats Date does", () => {
    const values = [
      0, 0.4, 0.5, 999.5, 1000, 1000.4999, -0.5, -1, -1000.7, 1_700_000_000_123.5, 1_795_473_749_585.2104, 253_402_300_799_999,
    ];
    for (let ms = 1_700_000_000_000; ms < 1_700_000_002_000; ms += 7.3) values.push(ms); // many in one second, then the next
    for (const ms of values) expect(isoTimestamp(ms), String(ms)).toBe(new Date(Math.round(ms)).toISOString());
    expect(() => isoTimestamp(Number.NaN)).toThrow(RangeError);

    const file = join(tempDir(), "f");
    writeFileSync(file, "x");
    for (const seconds of [1_700_000_000.0004, 1_700_000_000.0006, 1_600_000_000.9999]) {
      utimesSync(file, seconds, seconds);
      const stats = statSync(file);
      expect(isoTimestamp(stats.mtimeMs)).toBe(stats.mtime.toISOString());
    }
  });
});
