import { createHash } from "node:crypto";
import { readFileSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { runStage, shutdownTelemetry, StageIO } from "../../src/index.js";
import { FINGERPRINT_INDEX_FILE } from "../../src/fs/file-fingerprint.js";
import { spawnStage } from "../support/spawn-stage.js";
import { readJson, tempDir } from "../support/tmp.js";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const FAKE = "f".repeat(64);

let run: string;
beforeEach(() => {
  run = tempDir();
});

/**
 * Puts a made-up hash for `path` into a stage's fingerprint index: a stage
 * that reports it took the hash from the index. A stage of this process
 * sees it once telemetry has shut down (the next one reads the index anew).
 */
async function plantHash(stageDir: string, path: string): Promise<void> {
  const indexPath = join(stageDir, FINGERPRINT_INDEX_FILE);
  const index = readJson(indexPath);
  const entry = index.files.find((e: unknown[]) => e[0] === path);
  expect(entry, `${path} in ${indexPath}`).toBeDefined();
  entry[7] = FAKE;
  writeFileSync(indexPath, JSON.stringify(index));
  await shutdownTelemetry();
}

describe("hashing off per file", () => {
  it("records size and mtime but no hash for a file tracked with { hash: false }, and hashes the others", async () => {
    const big = join(run, "movie.mkv");
    const small = join(run, "subs.srt");
    writeFileSync(big, "pretend this is 40 GB");
    writeFileSync(small, "1\n00:00:01,000 --> 00:00:02,000\nhello\n");
    await runStage(
      "mux",
      (io) => {
        io.trackInput(big, "video", { codec: "h264" }, { hash: false });
        io.trackInput(small, "subtitles");
        io.trackIntermediate(big, { retained: true, reason: "remux cache", hash: false });
        io.trackOutput(small, "subtitles", {}, { hash: false });
      },
      { outputBase: run },
    );
    const m = readJson(join(run, "mux", "manifest.json"));
    expect(m.inputs[0]).toMatchObject({ path: big, size: 21, hash: null, hash_algorithm: null, exists: true, metadata: { codec: "h264" } });
    expect(m.inputs[0].modified).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(m.inputs[1]).toMatchObject({ path: small, hash: sha256(readFileSync(small)), hash_algorithm: "sha256" });
    expect(m.intermediate_files[0]).toMatchObject({ hash: null, retained: true, size: 21 });
    expect(m.outputs[0]).toMatchObject({ hash: null, size: readFileSync(small).length });
  });

  it("hashes files whose size is off by one from what the first read returns", async () => {
    // Exercises the exact-size read path: empty files, one byte, and just over the inline limit.
    const files = { empty: Buffer.alloc(0), one: Buffer.from("x"), big: Buffer.alloc((1 << 20) + 3, 7) };
    await runStage(
      "sizes",
      (io) => {
        for (const [name, data] of Object.entries(files)) {
          const p = io.getOutputPath(name);
          writeFileSync(p, data);
          io.trackOutput(p);
        }
      },
      { outputBase: run },
    );
    const m = readJson(join(run, "sizes", "manifest.json"));
    expect(m.outputs.map((o: { hash: string }) => o.hash)).toEqual(Object.values(files).map((d) => sha256(d)));
  });
});

describe("the fingerprint travels with the run", () => {
  it("a later stage in the same process takes an unchanged output's hash from the producing stage", async () => {
    let out = "";
    await runStage(
      "produce",
      (io) => {
        out = io.getOutputPath("data.csv");
        writeFileSync(out, "a,b\n1,2\n");
        io.trackOutput(out, "csv");
      },
      { outputBase: run, stages: ["produce", "consume"] },
    );
    const index = readJson(join(run, "01_produce", FINGERPRINT_INDEX_FILE));
    expect(index.files).toHaveLength(1);
    expect(index.files[0][0]).toBe(out);
    expect(index.files[0][7]).toBe(sha256("a,b\n1,2\n"));

    await plantHash(join(run, "01_produce"), out);
    await runStage(
      "consume",
      (io) => {
        io.trackInput(io.getInputPath("data.csv"), "csv");
      },
      { outputBase: run, stages: ["produce", "consume"] },
    );
    const m = readJson(join(run, "02_consume", "manifest.json"));
    expect(m.inputs[0]).toMatchObject({ path: out, from_stage: "produce", hash: FAKE, hash_algorithm: "sha256" });
  });

  it("across processes: reuses the hash while the file is unchanged, and hashes again once it changed", async () => {
    const env = { OUTPUT_DIR: run, STAGETRACE_STAGES: "a,b" };
    const produced = await spawnStage({ ...env, FIXTURE_STAGE: "a", FIXTURE_OUTPUT: "data.txt" });
    expect(produced.code).toBe(0);
    const file = join(run, "01_a", "data.txt");
    const real = sha256(readFileSync(file));
    expect(readJson(join(run, "01_a", "manifest.json")).outputs[0].hash).toBe(real);

    await plantHash(join(run, "01_a"), file);
    const consume = async (extra: Record<string, string> = {}) => {
      const r = await spawnStage({ ...env, FIXTURE_STAGE: "b", FIXTURE_INPUT: "data.txt", FIXTURE_FROM: "a", ...extra });
      expect(r.code, r.stderr).toBe(0);
      return readJson(join(run, "02_b", "manifest.json")).inputs[0];
    };

    // Unchanged: the hash is the producer's (the planted one proves the file was not read).
    expect(await consume()).toMatchObject({ path: file, from_stage: "a", hash: FAKE });
    // Reuse switched off: hashed again.
    expect((await consume({ STAGETRACE_REUSE_HASHES: "off" })).hash).toBe(real);

    // Only the times changed (touch): hashed again.
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    expect((await consume()).hash).toBe(real);

    // Replaced by a new file with the same name, size and mtime: a new inode, hashed again.
    await plantHash(join(run, "01_a"), file);
    const tmp = `${file}.new`;
    writeFileSync(tmp, readFileSync(file, "utf8").toUpperCase());
    utimesSync(tmp, later, later);
    renameSync(tmp, file);
    expect((await consume()).hash).toBe(sha256(readFileSync(file)));
  });

  it("does not reuse a hash made with another algorithm", async () => {
    let out = "";
    await runStage(
      "p",
      (io) => {
        out = io.getOutputPath("x.bin");
        writeFileSync(out, "payload");
        io.trackOutput(out);
      },
      { outputBase: run, stages: ["p", "q"] },
    );
    await plantHash(join(run, "01_p"), out);
    const io = new StageIO("q", { outputBase: run, stages: ["p", "q"], hashAlgorithm: "sha512" });
    io.trackInput(io.getInputPath("x.bin"));
    await io.finalize();
    const input = readJson(join(run, "02_q", "manifest.json")).inputs[0];
    expect(input).toMatchObject({ hash_algorithm: "sha512", hash: createHash("sha512").update("payload").digest("hex") });
  });
});
