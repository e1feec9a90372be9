// Stage 10, subtitle_generation: an .srt file from the translation, one cue
// per segment, lines wrapped at max_line_chars, lyrics between ♪ marks.
import { writeFileSync } from "node:fs";
import { runStage } from "stagetrace";
import { failIfAsked } from "../lib/common.js";

interface Translation {
  target_lang: string;
  segments: { id: number; start: number; end: number; text: string; lyrics: boolean }[];
}

const MAX_LINE = 32;

function srtTime(seconds: number): string {
  const total = Math.round(seconds * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(Math.floor(total / 3_600_000))}:${pad(Math.floor(total / 60_000) % 60)}:${pad(Math.floor(total / 1000) % 60)},${pad(total % 1000, 3)}`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

process.exitCode = await runStage("subtitle_generation", async (io) => {
  const log = io.getStageLogger("debug");
  const inputPath = io.getInputPath("translation.json", { fromStage: "translation" });
  io.trackInput(inputPath, "translation");
  const translation = io.loadJson<Translation>("translation.json", { fromStage: "translation" });
  io.setConfig({ format: "srt", max_line_chars: MAX_LINE, lyrics_marker: "♪", language: translation.target_lang });
  await failIfAsked("subtitle_generation");

  const cues: string[] = [];
  let longest = 0;
  translation.segments.forEach((s, i) => {
    const text = s.text.charAt(0).toUpperCase() + s.text.slice(1);
    const lines = wrap(s.lyrics ? `♪ ${text} ♪` : text, MAX_LINE);
    longest = Math.max(longest, lines.length);
    cues.push(`${i + 1}\n${srtTime(s.start)} --> ${srtTime(s.end)}\n${lines.join("\n")}\n`);
  });
  if (longest > 2) io.addWarning(`a cue needs ${longest} lines; more than 2 is hard to read`);

  const out = io.getOutputPath("subtitles.srt");
  writeFileSync(out, cues.join("\n"));
  io.trackOutput(out, "subtitle", { format: "srt", language: translation.target_lang, cues: cues.length });
  log.info({ cues: cues.length }, `wrote ${cues.length} cues`);
});
