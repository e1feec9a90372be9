// Stage 2, tmdb: looks the film up by title and year. A local JSON fixture
// stands in for the TMDB API, so the example needs no network; the API key is
// recorded as config anyway, to show that the manifest redacts it.
import { readFileSync } from "node:fs";
import { runStage } from "stagetrace";
import { dataFile, failIfAsked, type Metadata } from "../lib/common.js";

interface Movie {
  id: number;
  title: string;
  year: number;
  original_language: string;
  genres: string[];
  overview: string;
  cast: { name: string; character: string }[];
}

process.exitCode = await runStage("tmdb", async (io) => {
  const log = io.getStageLogger("debug");
  const metadata = io.loadJson<Metadata>("metadata.json", { fromStage: "demux" });
  io.trackInput(io.getInputPath("metadata.json", { fromStage: "demux" }), "metadata");

  const fixture = dataFile("tmdb-fixture.json");
  io.trackInput(fixture, "api_fixture", { stands_in_for: "https://api.themoviedb.org/3/search/movie" });
  io.setConfig({
    endpoint: "fixture:tmdb-fixture.json",
    language: "en-US",
    tmdbApiKey: process.env.TMDB_API_KEY || "demo-tmdb-key-0000000000",
  });

  log.debug({ query: metadata.title, year: metadata.year }, "searching");
  const { results } = JSON.parse(readFileSync(fixture, "utf8")) as { results: Movie[] };
  const sameTitle = results.filter((r) => r.title.toLowerCase() === metadata.title.toLowerCase());
  const movie = sameTitle.find((r) => r.year === metadata.year);
  if (!movie) throw new Error(`no TMDB match for "${metadata.title}" (${metadata.year})`);
  if (sameTitle.length > 1) {
    const others = sameTitle.filter((r) => r !== movie).map((r) => `${r.id} (${r.year})`);
    log.info({ others }, `${sameTitle.length} films share the title; the year picked ${movie.id}`);
  }
  await failIfAsked("tmdb");

  const out = io.saveJson(movie, "tmdb.json");
  io.trackOutput(out, "metadata", { tmdb_id: movie.id, cast: movie.cast.length });
  log.info({ tmdb_id: movie.id }, `matched TMDB ${movie.id}: ${movie.title} (${movie.year})`);
});
