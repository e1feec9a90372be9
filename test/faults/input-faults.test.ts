// Input faults: bad stage names and paths, odd file names, config values JSON
// cannot hold, secrets, and tracked paths that are not plain files.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { manifestFromSpan } from "../../src/index.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { assertValidManifest } from "../support/schema.js";
import { allFiles, readJson, tempDir } from "../support/tmp.js";
import { fixture, run } from "./harness.js";

const INPUT = fixture("input-stage.mjs");

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

function verdicts(stdout: string): Map<string, { code?: string; message?: string; accepted: boolean }> {
  const out = new Map<string, { code?: string; message?: string; accepted: boolean }>();
  for (const m of stdout.matchAll(/^(REJECTED|ACCEPTED) (.*)$/gm)) {
    const v = JSON.parse(m[2]!) as { what: string; code?: string; message?: string };
    out.set(v.what, { ...v, accepted: m[1] === "ACCEPTED" });
  }
  return out;
}

describe("bad stage names and paths", () => {
  it("are rejected with an error that names the value and the rule, and nothing is written outside the run", async () => {
    const root = tempDir();
    const runDir = join(root, "run");
    const r = await run({ OUTPUT_DIR: runDir, INPUT_CASE: "names" }, INPUT);
    expect(r.code, r.stderr).toBe(0);
    const v = verdicts(r.stdout);
    for (const name of ["a/b", "..", ".", "tab\there", "nl\nhere", "nul\u0000x", "esc\u001b[31m", "back\\slash"]) {
      expect(v.get(`stage ${JSON.stringify(name)}`)).toMatchObject({
        accepted: false,
        code: "INVALID_STAGE_NAME",
        message: expect.stringContaining(JSON.stringify(name)),
      });
    }
    for (const name of ["", "  "]) {
      expect(v.get(`stage ${JSON.stringify(name)}`)).toMatchObject({
        code: "INVALID_STAGE_NAME",
        message: expect.stringContaining("non-empty"),
      });
    }
    for (const bad of ["../../x", "../sibling.txt", "a/../../x", "."]) {
      expect(v.get(`getOutputPath ${JSON.stringify(bad)}`)).toMatchObject({
        code: "INVALID_PATH",
        message: expect.stringContaining("outside"),
      });
    }
    expect(v.get(`getOutputPath "/etc/passwd"`)).toMatchObject({ code: "INVALID_PATH", message: expect.stringContaining("is absolute") });
    expect(v.get(`getOutputPath ""`)).toMatchObject({ code: "INVALID_PATH" });
    expect(v.get(`getInputPath "../../x"`)).toMatchObject({ code: "INVALID_PATH", message: expect.stringContaining("outside") });
    expect(v.get(`getInputPath fromStage "../x"`)).toMatchObject({ code: "INVALID_STAGE_NAME" });
    expect(v.get(`getOutputPath "sub/ok.txt"`)).toMatchObject({ accepted: true });
    // A name over the file system's limit gets a clear error, not ENAMETOOLONG later.
    expect(v.get("getOutputPath long")).toMatchObject({
      code: "INVALID_PATH",
      message: expect.stringContaining("is 304 bytes long, more than the 255 a file name may have"),
    });
    // Only the run directory was created: no stage directory for a rejected name, nothing beside the run.
    expect(readdirSync(root)).toEqual(["run"]);
    expect(readdirSync(runDir).sort()).toEqual([".stagetrace-run.json", "logs", "paths"]);
  });
});

describe("file names with spaces, unicode and newlines", () => {
  it("are tracked and round-trip unchanged through manifest.json and OTLP", async () => {
    receiver = await startOtlpReceiver();
    const runDir = tempDir();
    const r = await run({ OUTPUT_DIR: runDir, INPUT_CASE: "files", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, INPUT);
    expect(r.code, r.stderr).toBe(0);
    const names = ["with space.txt", "ünïcødé 名前 🎬.txt", "new\nline.txt", "quote\"and'apostrophe.txt"];
    const m = readJson(join(runDir, "odd", "manifest.json"));
    assertValidManifest(m);
    expect(m.outputs.map((o: { name: string }) => o.name)).toEqual(names);
    for (const [i, o] of m.outputs.entries()) {
      expect(o).toMatchObject({ path: join(runDir, "odd", names[i]!), exists: true, kind: "file", metadata: { original: names[i] } });
      expect(o.size).toBe(Buffer.byteLength(names[i]!));
    }
    const span = receiver.spans().find((s) => s.name === "stage odd")!;
    const events = span.events.filter((e) => e.name === "stagetrace.file");
    expect(events.map((e) => e.attributes?.["file.name"])).toEqual(names);
    expect(events.map((e) => e.attributes?.["file.path"])).toEqual(names.map((n) => join(runDir, "odd", n)));
    // The manifest rebuilt from what the backend got has the same files.
    expect(manifestFromSpan(span).toDict().outputs).toEqual(m.outputs);
  });
});

describe("config values JSON cannot hold", () => {
  it("are recorded as bounded strings, in the manifest and over OTLP, never a crash", async () => {
    receiver = await startOtlpReceiver();
    const runDir = tempDir();
    const r = await run({ OUTPUT_DIR: runDir, INPUT_CASE: "values", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, INPUT);
    expect(r.code, r.stderr).toBe(0);
    const path = join(runDir, "values", "manifest.json");
    const m = readJson(path);
    assertValidManifest(m);
    expect(m.config).toMatchObject({
      big: "12345678901234567890",
      "circular.name": "loop",
      "circular.self": "[Circular]",
      fn: "[function transcribe]",
      arrow: "[function arrow]",
      sym: "Symbol(marker)",
      buf: "[11 bytes]",
      when: "2025-11-27T10:00:00.000Z",
      badDate: "Invalid Date",
      nan: "NaN",
      inf: "-Infinity",
      nil: null,
      "nested.map.k": 1,
      "nested.set": ["a", "b"],
    });
    expect(m.config["nested.list"]).toBe('["1",{"name":"loop","self":"[Circular]"},"s"]');
    expect("undef" in m.config).toBe(false);
    // 10 MB strings are cut to 4096 characters plus a marker saying how much was cut.
    const marker = `…[truncated ${10 * 1024 * 1024 - 4096} chars]`;
    for (const value of [m.config.huge, m.config.hugeAgain, m.outputs[0].metadata.huge, m.warnings[0].message]) {
      expect(value).toBe("x".repeat(4096) + marker);
    }
    expect(m.resources).toMatchObject({ big: "1180591620717411303424", when: "1970-01-01T00:00:00.000Z" });
    expect(m.outputs[0].metadata).toMatchObject({ big: "1", "circular.self": "[Circular]" });
    expect(statSync(path).size).toBeLessThan(100_000);

    const span = receiver.spans().find((s) => s.name === "stage values")!;
    expect(span.attributes["stagetrace.config.big"]).toBe("12345678901234567890");
    expect(String(span.attributes["stagetrace.config.huge"]).endsWith(marker)).toBe(true);
    for (const req of receiver.requests) expect(req.rawBody.length).toBeLessThan(200_000);
  });
});

describe("secrets", () => {
  it("a TMDB-style key, a bearer token and a password put everywhere appear in no file of the run and no byte sent over OTLP", async () => {
    receiver = await startOtlpReceiver();
    const runDir = tempDir();
    const secrets = {
      SECRET_KEY: "0f3a5c7e9b1d2f4a6c8e0b2d4f6a8c0e",
      SECRET_TOKEN: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl",
      SECRET_PASSWORD: "hunter2-Pa55w0rd!",
    };
    const r = await run({ OUTPUT_DIR: runDir, INPUT_CASE: "secrets", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...secrets }, INPUT);
    expect(r.code, r.stderr).toBe(0);
    const files = allFiles(runDir);
    expect(files.length).toBeGreaterThanOrEqual(4); // manifest, stage.log, pipeline log, run state, the output
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const secret of Object.values(secrets)) {
      for (const f of files) expect(readFileSync(f, "utf8"), f).not.toContain(secret);
      for (const req of receiver.requests) {
        expect(req.rawBody.toString("utf8")).not.toContain(secret);
        expect(JSON.stringify(req.body)).not.toContain(secret); // decoded too (escapes, compression)
      }
      expect(r.stderr + r.stdout).not.toContain(secret);
    }
    // What was said is still there, with the secret cut out.
    const m = readJson(join(runDir, "secrets", "manifest.json"));
    expect(m.config).toMatchObject({
      "tmdb.apiKey": "[REDACTED]",
      authorization: "[REDACTED]",
      "db.password": "[REDACTED]",
      "db.host": "db",
    });
    expect(m.outputs[0].metadata).toMatchObject({ api_key: "[REDACTED]", token: "[REDACTED]", password: "[REDACTED]", source: "tmdb" });
    expect(m.warnings[0].message).toBe("retrying with key [REDACTED], token [REDACTED], password [REDACTED]");
    expect(m.errors[0]).toMatchObject({ message: "request with key [REDACTED] failed", type: "Error" });
    expect(receiver.logRecords().map((l) => l.body)).toContain("request sent");
  });
});

describe("tracked paths that are not plain files", () => {
  it("directory, symlink, dangling symlink, FIFO, missing, vanished and swapped-for-a-FIFO files are recorded for what they are, without hanging", async () => {
    const runDir = tempDir();
    // One thread-pool thread, kept busy by the fixture: the large files' hashing starts only after they changed.
    const r = await run({ OUTPUT_DIR: runDir, INPUT_CASE: "kinds", UV_THREADPOOL_SIZE: "1" }, INPUT);
    expect(r.code, r.stderr).toBe(0);
    const m = readJson(join(runDir, "kinds", "manifest.json"));
    assertValidManifest(m);
    const entry = (name: string) => [...m.inputs, ...m.outputs, ...m.intermediate_files].find((f: { name: string }) => f.name === name);
    expect(entry("a-directory")).toMatchObject({ kind: "directory", exists: true, size: null, hash: null });
    expect(entry("link.txt")).toMatchObject({ kind: "symlink", exists: true, size: 6 });
    expect(entry("link.txt").hash).toMatch(/^[0-9a-f]{64}$/); // of the target's content
    expect(entry("dangling.txt")).toMatchObject({ kind: "symlink", exists: true, hash: null });
    expect(entry("a.fifo")).toMatchObject({ kind: "fifo", exists: true, size: null, hash: null });
    expect(entry("never-existed.txt")).toMatchObject({ kind: "missing", exists: false });
    expect(entry("vanishing.bin")).toMatchObject({ kind: "missing", exists: false, hash: null });
    expect(entry("swapped.bin")).toMatchObject({ kind: "fifo", exists: true, hash: null });
    expect(entry("empty-dir")).toMatchObject({ kind: "directory", retained: true, reason: "a cache directory" });
    const warnings = m.warnings.map((w: { message: string }) => w.message);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/dangling\.txt is a symlink whose target does not exist$/),
        expect.stringMatching(/never-existed\.txt does not exist$/),
        expect.stringMatching(/vanishing\.bin vanished while it was being hashed$/),
        expect.stringMatching(/swapped\.bin became a fifo while it was being hashed; it was not read$/),
      ]),
    );
  });
});
