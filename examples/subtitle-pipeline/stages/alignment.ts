// Stage 7, alignment: a start and end time for every word of the transcript,
// from the vocal track's frames.
import { runStage } from "stagetrace";
import { failIfAsked, ms, readTrack, type AlignedSegment, type Metadata, type Word } from "../lib/common.js";

interface Transcript {
  segments: { id: number; start: number; end: number; text: string; words: string[] }[];
}

process.exitCode = await runStage("alignment", async (io) => {
  const log = io.getStageLogger("debug");
  const transcriptPath = io.getInputPath("transcript.json", { fromStage: "asr" });
  const vocalsPath = io.getInputPath("vocals.track", { fromStage: "source_separation" });
  const metadataPath = io.getInputPath("metadata.json", { fromStage: "demux" });
  io.trackInput(transcriptPath, "transcript");
  io.trackInput(vocalsPath, "audio", { track: "vocals" });
  io.trackInput(metadataPath, "metadata");
  const transcript = io.loadJson<Transcript>("transcript.json", { fromStage: "asr" });
  const { frame_s } = io.loadJson<Metadata>("metadata.json", { fromStage: "demux" });
  io.setConfig({ method: "frame-match", frame_s });
  await failIfAsked("alignment");

  // Runs of frames carrying the same word, in order.
  const runs: Word[] = [];
  for (const f of readTrack(vocalsPath)) {
    const t = Number(f.t);
    const lastRun = runs[runs.length - 1];
    if (!f.word || f.word === "-") continue;
    if (lastRun && lastRun.word === f.word && t - lastRun.end < 1e-6) lastRun.end = ms(t + frame_s);
    else runs.push({ word: f.word, start: ms(t), end: ms(t + frame_s) });
  }

  let unaligned = 0;
  const segments: AlignedSegment[] = transcript.segments.map((s) => {
    const inside = runs.filter((r) => r.start >= s.start - 1e-6 && r.start < s.end - 1e-6);
    const words = s.words.map((word, i) => {
      const r = inside[i];
      if (!r || r.word !== word.toLowerCase()) {
        unaligned++;
        return { word, start: s.start, end: s.end };
      }
      return { word, start: r.start, end: r.end };
    });
    log.debug({ segment: s.id, words: words.length }, `segment ${s.id} aligned`);
    return { id: s.id, start: words[0]?.start ?? s.start, end: words[words.length - 1]?.end ?? s.end, text: s.text, words };
  });
  if (unaligned > 0) io.addWarning(`${unaligned} words could not be aligned and span their whole segment`);

  const out = io.saveJson({ frame_s, segments }, "aligned.json");
  io.trackOutput(out, "transcript", { format: "json", aligned: true, segments: segments.length });
  log.info({ segments: segments.length, unaligned }, `aligned ${segments.reduce((n, s) => n + s.words.length, 0)} words`);
});
