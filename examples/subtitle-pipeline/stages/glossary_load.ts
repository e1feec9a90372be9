// Stage 3, glossary_load: the terms translation must keep as they are, from
// TMDB's cast (characters and actors) and a small data file of place names.
// Written in the seed's explicit style: new StageIO, try/catch, finalize().
import { readFileSync } from "node:fs";
import { StageIO } from "stagetrace";
import { dataFile, failIfAsked, type Glossary } from "../lib/common.js";

const io = new StageIO("glossary_load");
const log = io.getStageLogger("debug");
try {
  log.info("building the glossary");
  const tmdbPath = io.getInputPath("tmdb.json", { fromStage: "tmdb" });
  io.trackInput(tmdbPath, "metadata");
  const movie = io.loadJson<{ cast: { name: string; character: string }[] }>("tmdb.json", { fromStage: "tmdb" });

  const basePath = dataFile("glossary-base.json");
  io.trackInput(basePath, "glossary", { source: "example data" });
  const base = JSON.parse(readFileSync(basePath, "utf8")) as { terms: { term: string; note?: string }[] };
  await failIfAsked("glossary_load");

  const terms = new Map<string, Glossary["terms"][number]>();
  for (const c of movie.cast) {
    terms.set(c.character.toLowerCase(), { term: c.character, source: "tmdb:character" });
    terms.set(c.name.toLowerCase(), { term: c.name, source: "tmdb:cast" });
  }
  for (const t of base.terms) {
    if (terms.has(t.term.toLowerCase())) log.debug({ term: t.term }, "already in the glossary");
    else terms.set(t.term.toLowerCase(), { term: t.term, source: "glossary-base", ...(t.note ? { note: t.note } : {}) });
  }
  const glossary: Glossary = { terms: [...terms.values()].sort((a, b) => a.term.localeCompare(b.term)) };
  io.setConfig({ sources: ["tmdb", "glossary-base.json"], case_sensitive: false });
  io.trackOutput(io.saveJson(glossary, "glossary.json"), "glossary", { terms: glossary.terms.length });
  log.info({ terms: glossary.terms.length }, `glossary has ${glossary.terms.length} terms`);
  await io.finalize("success");
} catch (e) {
  log.error({ err: e }, `glossary_load failed: ${(e as Error).message}`);
  io.addError(`glossary_load failed: ${(e as Error).message}`, e);
  await io.finalize("failed", { reason: (e as Error).message });
  process.exitCode = 1;
}
