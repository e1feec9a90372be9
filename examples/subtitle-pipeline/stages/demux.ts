// Stage 1, demux: splits the movie container into its audio track, its video
// track and its metadata.
import { readFileSync, writeFileSync } from "node:fs";
import { runStage } from "stagetrace";
import { failIfAsked, type Metadata } from "../lib/common.js";

process.exitCode = await runStage("demux", async (io) => {
  const log = io.getStageLogger("debug");
  // The input is not another stage's output: INPUT_MEDIA, else input/movie.stc in the run directory.
  const media = process.env.INPUT_MEDIA || io.getInputPath("input/movie.stc");
  io.trackInput(media, "media", { container: "stc" });

  const [first = "", ...lines] = readFileSync(media, "utf8").split("\n");
  const m = /^STC1 (\{.*\})$/.exec(first);
  if (!m) throw new Error(`${media} is not an STC1 container (first line: ${JSON.stringify(first.slice(0, 40))})`);
  const metadata = JSON.parse(m[1]!) as Metadata;
  io.setConfig({ container: "stc", version: 1, tracks: ["video", "audio"] });

  const tracks: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of lines) {
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) tracks[section[1]!] = current = [];
    else if (line !== "" && current) current.push(line);
  }
  const audio = tracks.audio ?? [];
  const video = tracks.video ?? [];
  if (audio.length < 2) throw new Error(`${media} has no audio track`);
  await failIfAsked("demux");
  log.debug({ audio_lines: audio.length, video_lines: video.length }, "container parsed");

  const audioPath = io.getOutputPath("audio.track");
  writeFileSync(audioPath, audio.join("\n") + "\n");
  io.trackOutput(audioPath, "audio", { frames: audio.length - 1, frame_s: metadata.frame_s });

  const videoPath = io.getOutputPath("video.track");
  writeFileSync(videoPath, video.join("\n") + "\n");
  io.trackOutput(videoPath, "video", { shots: video.length });

  io.trackOutput(io.saveJson(metadata, "metadata.json"), "metadata", { title: metadata.title, year: metadata.year });
  log.info(
    { title: metadata.title, duration_s: metadata.duration_s },
    `demuxed "${metadata.title}" (${audio.length - 1} audio frames, ${video.length} shots)`,
  );
});
