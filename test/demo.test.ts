import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXAMPLE_DEMO, EXAMPLE_SHELL_STAGES, EXAMPLE_STAGES } from "./support/example-pipeline.js";
import { assertValidManifest } from "./support/schema.js";
import { pipelineLogOf, readJson, readLogLines, tempDir } from "./support/tmp.js";

const DEMO = EXAMPLE_DEMO;
const STAGES: readonly string[] = EXAMPLE_STAGES;
const SHELL_STAGES: readonly string[] = EXAMPLE_SHELL_STAGES;
const dirOf = (stage: string) => `${String(STAGES.indexOf(stage) + 1).padStart(2, "0")}_${stage}`;

function runDemo(env: Record<string, string>) {
  const run = tempDir();
  const r = spawnSync(process.execPath, [DEMO], {
    env: { PATH: process.env.PATH ?? "", ...env, OUTPUT_DIR: run },
    encoding: "utf8",
  });
  const manifest = (stage: string) => {
    const m = readJson(join(run, dirOf(stage), "manifest.json"));
    assertValidManifest(m);
    return m;
  };
  return { run, manifest, ...r };
}

// A whole pipeline run per test, three stages of it Python processes: slow on a loaded machine.
describe("npm run demo (the subtitle pipeline)", { timeout: 120_000 }, () => {
  it("runs eleven stages as one trace: TypeScript, Python and shell stages, one skipped, each reading its predecessors' outputs", () => {
    const { run, manifest, status, stdout, stderr } = runDemo({ TMDB_API_KEY: "tmdb-secret-123456" });
    expect(status, stderr).toBe(0);

    const manifests = Object.fromEntries(STAGES.map((s) => [s, manifest(s)]));
    for (const s of STAGES) {
      expect(manifests[s].status, `${s}: ${manifests[s].status_reason}`).toBe(s === "lyrics_detection" ? "skipped" : "success");
    }
    expect(manifests.lyrics_detection.status_reason).toBe("ENABLE_LYRICS_DETECTION is not true");

    const pipeline = readJson(join(run, "pipeline.json"));
    expect(pipeline.status).toBe("success");
    expect(pipeline.stages.map((s: { name: string }) => s.name)).toEqual(STAGES);
    expect(pipeline.stages.map((s: { status: string }) => s.status)).toEqual(
      STAGES.map((s) => (s === "lyrics_detection" ? "skipped" : "success")),
    );
    const traces = new Set([pipeline.trace.trace_id, ...STAGES.map((s) => manifests[s].trace.trace_id)]);
    expect(traces.size).toBe(1);

    // shell stages under `stagetrace exec`: their declared outputs, fingerprinted
    const outputs = (s: string) => manifests[s].outputs.map((o: { name: string }) => o.name);
    expect(outputs("source_separation")).toEqual(["vocals.track", "accompaniment.track"]);
    expect(outputs("pyannote_vad")).toEqual(["segments.tsv"]);
    expect(outputs("mux")).toEqual(["movie.subtitled.stc"]);
    for (const s of SHELL_STAGES) {
      for (const o of manifests[s].outputs)
        expect(o).toMatchObject({ exists: true, hash_algorithm: "sha256", hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    }

    // lineage: what a stage read is byte for byte what an earlier stage wrote
    const output = (s: string, name: string) => manifests[s].outputs.find((o: { name: string }) => o.name === name);
    const input = (s: string, name: string) => manifests[s].inputs.find((i: { name: string }) => i.name === name);
    expect(input("source_separation", "audio.track")).toMatchObject({ from_stage: "demux", hash: output("demux", "audio.track").hash });
    expect(input("asr", "segments.tsv")).toMatchObject({ from_stage: "pyannote_vad", hash: output("pyannote_vad", "segments.tsv").hash });
    expect(input("translation", "aligned.json")).toMatchObject({ from_stage: "alignment", hash: output("alignment", "aligned.json").hash });
    expect(input("mux", "subtitles.srt")).toMatchObject({
      from_stage: "subtitle_generation",
      hash: output("subtitle_generation", "subtitles.srt").hash,
    });
    // asr is a Python stage: outputs found at run time, a retained model cache, a temp file that is not retained.
    expect(
      manifests.asr.intermediate_files.map((f: { name: string; retained: boolean; exists: boolean }) => [f.name, f.retained, f.exists]),
    ).toEqual([
      ["toy-asr-en-v1.bin", true, true],
      ["frames.tsv", false, true],
    ]);
    const asrOutputs: string[] = outputs("asr");
    expect(asrOutputs[0]).toBe("transcript.json");
    expect(asrOutputs.length).toBeGreaterThan(1);
    expect(asrOutputs.slice(1).every((n) => /^\d{3}\.txt$/.test(n))).toBe(true);
    expect(manifests.asr.process.command_args.slice(-1)[0]).toMatch(/asr\.py$/);
    expect(manifests.tmdb.config.tmdbApiKey).toBe("[REDACTED]");
    expect(readFileSync(join(run, dirOf("tmdb"), "manifest.json"), "utf8")).not.toContain("tmdb-secret-123456");
    expect(manifests.translation.config.target_lang).toBe("fr");

    const srt = readFileSync(join(run, dirOf("subtitle_generation"), "subtitles.srt"), "utf8");
    expect(srt).toContain("00:00:00,600 --> 00:00:02,400\nElin la lampe est éteinte encore");
    expect(readFileSync(join(run, dirOf("mux"), "movie.subtitled.stc"), "utf8")).toContain("[subtitles fr]");

    const lines = readLogLines(pipelineLogOf(run));
    // stage lines, plus the run's own start and end lines (no stage)
    expect(new Set(lines.filter((l) => l.stage !== undefined).map((l) => l.stage))).toEqual(new Set(STAGES));
    expect(new Set(lines.map((l) => l.trace_id))).toEqual(traces);
    expect(lines.some((l) => l.level === "DEBUG")).toBe(false);
    expect(stdout).toContain("06 asr");
    expect(stdout).toContain("Pipeline log");
  });

  it("FAIL_STAGE=asr fails asr with its error in the manifest, and the stages after it do not run", () => {
    const { run, manifest, status } = runDemo({ FAIL_STAGE: "asr" });
    expect(status).not.toBe(0);
    const asr = manifest("asr");
    expect(asr).toMatchObject({ status: "failed", status_reason: "FAIL_STAGE=asr: failing on purpose" });
    expect(asr.errors[0].message).toBe("FAIL_STAGE=asr: failing on purpose");
    // asr is a Python stage: the error is its exception, with the Python traceback.
    expect(asr.errors[0].type).toBe("RuntimeError");
    expect(asr.errors[0].stack).toMatch(
      /^Traceback \(most recent call last\):[\s\S]*asr\.py[\s\S]*RuntimeError: FAIL_STAGE=asr: failing on purpose$/,
    );
    expect(manifest("pyannote_vad").status).toBe("success");

    const pipeline = readJson(join(run, "pipeline.json"));
    expect(pipeline.status).toBe("failed");
    const after = STAGES.slice(STAGES.indexOf("asr") + 1);
    for (const s of after) {
      expect(pipeline.stages.find((e: { name: string }) => e.name === s)).toMatchObject({ status: "not_run", manifest: null });
      expect(existsSync(join(run, dirOf(s)))).toBe(false);
    }
  });
});
