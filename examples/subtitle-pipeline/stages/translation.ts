// Stage 9, translation: word-for-word dictionary translation into
// TRANSLATION_TARGET_LANG (fr, the default, or es). Glossary terms (names,
// places) are kept as they are; words the dictionary lacks are kept too, with
// a warning. Segments that lyrics_detection marked (when it ran) stay marked.
import { existsSync, readFileSync } from "node:fs";
import { runStage } from "stagetrace";
import { dataFile, failIfAsked, type AlignedSegment, type Glossary } from "../lib/common.js";

const LANGUAGES = ["fr", "es"];

process.exitCode = await runStage("translation", async (io) => {
  const log = io.getStageLogger("debug");
  const target = (process.env.TRANSLATION_TARGET_LANG || "fr").toLowerCase();
  io.setConfig({ source_lang: "en", target_lang: target, method: "dictionary", keep_glossary_terms: true });
  if (!LANGUAGES.includes(target)) {
    throw new Error(`TRANSLATION_TARGET_LANG=${target} is not supported; use one of ${LANGUAGES.join(", ")}`);
  }

  const alignedPath = io.getInputPath("aligned.json", { fromStage: "alignment" });
  const glossaryPath = io.getInputPath("glossary.json", { fromStage: "glossary_load" });
  const dictionaryPath = dataFile("dictionary.json");
  io.trackInput(alignedPath, "transcript");
  io.trackInput(glossaryPath, "glossary");
  io.trackInput(dictionaryPath, "dictionary", { languages: LANGUAGES });
  const { segments } = io.loadJson<{ segments: AlignedSegment[] }>("aligned.json", { fromStage: "alignment" });
  const glossary = io.loadJson<Glossary>("glossary.json", { fromStage: "glossary_load" });
  const dictionary = (JSON.parse(readFileSync(dictionaryPath, "utf8")) as Record<string, Record<string, string>>)[target]!;

  // lyrics_detection is optional: its output is used only when the stage ran.
  const lyricsPath = io.getInputPath("lyrics.json", { fromStage: "lyrics_detection" });
  const lyrics = new Set<number>();
  if (existsSync(lyricsPath)) {
    io.trackInput(lyricsPath, "lyrics");
    const found = io.loadJson<{ segments: { id: number; lyrics: boolean }[] }>("lyrics.json", { fromStage: "lyrics_detection" });
    for (const s of found.segments) if (s.lyrics) lyrics.add(s.id);
  } else log.info("no lyrics.json (lyrics_detection did not run); no segment is marked as lyrics");
  await failIfAsked("translation");

  const terms = glossary.terms.map((t) => t.term.toLowerCase().split(" ")).sort((a, b) => b.length - a.length);
  const missing = new Set<string>();
  let kept = 0;
  const translated = segments.map((s) => {
    const words = s.words.map((w) => w.word);
    const out: string[] = [];
    for (let i = 0; i < words.length; ) {
      const term = terms.find((t) => t.every((w, k) => words[i + k]?.toLowerCase() === w));
      if (term) {
        out.push(...words.slice(i, i + term.length));
        kept += term.length;
        i += term.length;
        continue;
      }
      const word = words[i++]!;
      const t = dictionary[word.toLowerCase()];
      if (t === undefined) missing.add(word);
      out.push(t ?? word);
    }
    log.debug({ segment: s.id }, `${s.text} → ${out.join(" ")}`);
    return { id: s.id, start: s.start, end: s.end, source: s.text, text: out.join(" "), lyrics: lyrics.has(s.id) };
  });
  if (missing.size > 0) {
    const list = [...missing].sort();
    log.warn({ missing: list }, `${list.length} words not in the en→${target} dictionary`);
    io.addWarning(`${list.length} word${list.length > 1 ? "s" : ""} not in the en→${target} dictionary, kept as is: ${list.join(", ")}`);
  }

  const out = io.saveJson({ source_lang: "en", target_lang: target, segments: translated }, "translation.json");
  io.trackOutput(out, "translation", { target_lang: target, segments: translated.length });
  log.info({ segments: translated.length, glossary_words_kept: kept }, `translated ${translated.length} segments into ${target}`);
});
