// Stage 6, asr: "recognises" the words spoken in each speech segment (the
// synthetic audio carries them frame by frame) and writes transcript.json.
// Names from the glossary get their spelling. Keeps a small model cache in the
// stage directory, tracked as a retained intermediate file.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runStage } from "stagetrace";
import { failIfAsked, readTrack, type Glossary } from "../lib/common.js";

const MODEL = "toy-asr-en-v1";

/** Replaces lower-case word runs that spell a glossary term with the term's own spelling. */
function applyGlossary(words: string[], glossary: Glossary): string[] {
  const terms = glossary.terms.map((t) => t.term.split(" ")).sort((a, b) => b.length - a.length);
  const out: string[] = [];
  for (let i = 0; i < words.length; ) {
    const hit = terms.find((t) => t.every((w, k) => words[i + k]?.toLowerCase() === w.toLowerCase()));
    if (hit) {
      out.push(...hit);
      i += hit.length;
    } else out.push(words[i++]!);
  }
  return out;
}

process.exitCode = await runStage("asr", async (io) => {
  const log = io.getStageLogger("debug");
  const segmentsPath = io.getInputPath("segments.tsv", { fromStage: "pyannote_vad" });
  const vocalsPath = io.getInputPath("vocals.track", { fromStage: "source_separation" });
  io.trackInput(segmentsPath, "segments");
  io.trackInput(vocalsPath, "audio", { track: "vocals" });
  const glossaryPath = io.getInputPath("glossary.json", { fromStage: "glossary_load" });
  let glossary: Glossary = { terms: [] };
  if (existsSync(glossaryPath)) {
    io.trackInput(glossaryPath, "glossary");
    glossary = io.loadJson<Glossary>("glossary.json", { fromStage: "glossary_load" });
  } else {
    io.addWarning("no glossary: names keep the recogniser's spelling");
  }
  io.setConfig({ model: MODEL, language: "en", beam_size: 1, hotwords: glossary.terms.length });

  // The "model": downloaded once, then reused from the stage directory's cache by later runs.
  const cacheDir = join(io.stageDir, ".cache");
  mkdirSync(cacheDir, { recursive: true });
  const model = join(cacheDir, `${MODEL}.bin`);
  if (!existsSync(model)) {
    log.info({ model }, `no cached model; writing ${MODEL}`);
    writeFileSync(model, `${MODEL}\nframe-word decoder, no weights\n`);
  } else log.debug({ model }, "model found in cache");
  io.trackIntermediate(model, { retained: true, reason: `${MODEL} model cache, reused by later runs` });

  await failIfAsked("asr");
  const frames = readTrack(vocalsPath);
  const segments = readTrack(segmentsPath).map((s) => {
    const start = Number(s.start);
    const end = Number(s.end);
    const words: string[] = [];
    let last = "-";
    for (const f of frames) {
      const t = Number(f.t);
      if (t < start - 1e-9 || t >= end - 1e-9) continue;
      if (f.word && f.word !== "-" && f.word !== last) words.push(f.word);
      last = f.word ?? "-";
    }
    const spelled = applyGlossary(words, glossary);
    log.debug({ segment: Number(s.id), words: spelled.length }, `segment ${s.id}: ${spelled.join(" ")}`);
    return { id: Number(s.id), start, end, text: spelled.join(" "), words: spelled };
  });
  const empty = segments.filter((s) => s.words.length === 0);
  if (empty.length > 0) io.addWarning(`${empty.length} speech segments without words: ${empty.map((s) => s.id).join(", ")}`);

  const out = io.saveJson({ language: "en", model: MODEL, segments }, "transcript.json");
  const wordCount = segments.reduce((n, s) => n + s.words.length, 0);
  io.trackOutput(out, "transcript", { format: "json", segments: segments.length, words: wordCount });
  io.setResources({ segments: segments.length, words: wordCount });
  log.info({ segments: segments.length, words: wordCount }, `transcribed ${segments.length} segments, ${wordCount} words`);
});
