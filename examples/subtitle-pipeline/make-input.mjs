#!/usr/bin/env node
// Writes the pipeline's input: a small synthetic "movie" in a text container
// (no real media, no randomness: the same bytes on every run).
//
//   STC1 {"title":…,"year":…,"duration_s":…,"frame_s":…,"language":"en"}
//   [video]
//   <t> <shot id> <description>          one line per shot
//   [audio]
//   t voice music word                   one line per 50 ms frame
//
// `voice` and `music` are energies in 0..1; `word` is the word spoken (or
// sung) in that frame, `-` for none.
//
// Usage: node make-input.mjs OUT_FILE
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const out = process.argv[2];
if (!out) {
  console.error("usage: node make-input.mjs OUT_FILE");
  process.exit(2);
}

const FRAME = 0.05; // seconds
const WORD_FRAMES = 6; // 0.3 s per word
const PAUSE_FRAMES = 12; // 0.6 s of silence between lines

// What is said, in order; `sung` lines are under loud music.
const script = [
  { words: "elin the lamp is out again" },
  { words: "jonah bring the oil from skerry point" },
  { words: "the storm is coming tonight" },
  { words: "light the way home sailor", sung: true },
  { words: "we keep the light until morning" },
];

// A small deterministic generator (LCG) for the energy wobble.
let seed = 7;
const wobble = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 0.1;
const two = (x) => Math.min(0.99, Math.max(0, x)).toFixed(2);

const frames = [];
const push = (voice, music, word) => frames.push({ voice, music, word });
for (let i = 0; i < PAUSE_FRAMES; i++) push(0.03 + wobble() / 2, 0.12 + wobble(), "-");
for (const line of script) {
  const music = line.sung ? 0.82 : 0.12;
  const words = line.words.split(" ");
  words.forEach((word, w) => {
    for (let f = 0; f < WORD_FRAMES; f++) {
      // the last frame of a word is the breath before the next one: quieter, but still speech
      const voice = f === WORD_FRAMES - 1 && w < words.length - 1 ? 0.62 : (line.sung ? 0.66 : 0.72) + wobble() * 2;
      push(voice, music + wobble(), f === WORD_FRAMES - 1 && w < words.length - 1 ? "-" : word);
    }
  });
  for (let i = 0; i < PAUSE_FRAMES; i++) push(0.03 + wobble() / 2, (line.sung && i < 4 ? 0.7 : 0.12) + wobble(), "-");
}

const duration = Math.round(frames.length * FRAME * 100) / 100;
const header = { title: "The Lighthouse Keeper", year: 2019, duration_s: duration, frame_s: FRAME, language: "en" };
const video = [
  [0, "shot-001", "lighthouse-at-dusk"],
  [2.9, "shot-002", "lamp-room-close-up"],
  [5.6, "shot-003", "storm-over-the-harbour"],
  [7.7, "shot-004", "tavern-singing"],
  [9.8, "shot-005", "dawn-at-the-rocks"],
];
const lines = [`STC1 ${JSON.stringify(header)}`, "[video]"];
for (const [t, id, what] of video) lines.push(`${t.toFixed(2)} ${id} ${what}`);
lines.push("[audio]", "t voice music word");
frames.forEach((f, i) => lines.push(`${(i * FRAME).toFixed(2)} ${two(f.voice)} ${two(f.music)} ${f.word}`));

const path = resolve(out);
mkdirSync(dirname(path), { recursive: true });
writeFileSync(path, lines.join("\n") + "\n");
console.log(`wrote ${out}: "${header.title}" (${header.year}), ${duration} s, ${frames.length} audio frames`);
