// Stage 8, lyrics_detection: the optional stage. Skipped unless
// ENABLE_LYRICS_DETECTION=true; when it runs, segments under loud music are
// marked as lyrics (subtitles show them between ♪ marks).
// Written in the seed's optional-stage style: new StageIO, finalize("skipped", { reason }).
import { StageIO } from "stagetrace";
import { failIfAsked, readTrack, type AlignedSegment } from "../lib/common.js";

const io = new StageIO("lyrics_detection");
const log = io.getStageLogger("debug");
try {
  await failIfAsked("lyrics_detection");
  const enabled = (process.env.ENABLE_LYRICS_DETECTION ?? "false").toLowerCase() === "true";
  if (!enabled) {
    log.info("ENABLE_LYRICS_DETECTION is not true; skipping the stage");
    await io.finalize("skipped", { reason: "ENABLE_LYRICS_DETECTION is not true" });
  } else {
    const threshold = Number(process.env.LYRICS_MUSIC_THRESHOLD ?? "0.6");
    io.setConfig({ music_threshold: threshold, method: "mean-accompaniment-energy" });
    const alignedPath = io.getInputPath("aligned.json", { fromStage: "alignment" });
    const accPath = io.getInputPath("accompaniment.track", { fromStage: "source_separation" });
    io.trackInput(alignedPath, "transcript");
    io.trackInput(accPath, "audio", { track: "accompaniment" });

    const { segments } = io.loadJson<{ segments: AlignedSegment[] }>("aligned.json", { fromStage: "alignment" });
    const music = readTrack(accPath).map((f) => ({ t: Number(f.t), music: Number(f.music) }));
    const result = segments.map((s) => {
      const inside = music.filter((f) => f.t >= s.start - 1e-6 && f.t < s.end - 1e-6);
      const mean = inside.reduce((sum, f) => sum + f.music, 0) / Math.max(1, inside.length);
      const meanMusic = Math.round(mean * 1000) / 1000;
      log.debug({ segment: s.id, mean_music: meanMusic }, `segment ${s.id}: mean music ${meanMusic}`);
      return { id: s.id, mean_music: meanMusic, lyrics: mean > threshold };
    });
    const lyrics = result.filter((r) => r.lyrics).length;
    io.trackOutput(io.saveJson({ threshold, segments: result }, "lyrics.json"), "lyrics", { segments: result.length, lyrics });
    log.info({ lyrics }, `${lyrics} of ${result.length} segments are lyrics`);
    await io.finalize("success");
  }
} catch (e) {
  log.error({ err: e }, `lyrics_detection failed: ${(e as Error).message}`);
  await io.finalize("failed", { error: e as Error });
  process.exitCode = 1;
}
