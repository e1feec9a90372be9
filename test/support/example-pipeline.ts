import { fileURLToPath } from "node:url";

/** examples/subtitle-pipeline/run-pipeline.sh: the example pipeline, which runs itself under `stagetrace run`. */
export const EXAMPLE_PIPELINE = fileURLToPath(new URL("../../examples/subtitle-pipeline/run-pipeline.sh", import.meta.url));

/** `npm run demo`: the example pipeline, then `stagetrace show` and `stagetrace report` of the run. */
export const EXAMPLE_DEMO = fileURLToPath(new URL("../../examples/subtitle-pipeline/demo.mjs", import.meta.url));

/** The example pipeline's name (`--name` of its `stagetrace run`). */
export const EXAMPLE_PIPELINE_NAME = "subtitle-pipeline";

/** The example pipeline's stages, in order: the seed's eleven. */
export const EXAMPLE_STAGES = [
  "demux",
  "tmdb",
  "glossary_load",
  "source_separation",
  "pyannote_vad",
  "asr",
  "alignment",
  "lyrics_detection",
  "translation",
  "subtitle_generation",
  "mux",
] as const;

/** The example pipeline's stages that are shell scripts run by `stagetrace exec`. */
export const EXAMPLE_SHELL_STAGES = ["source_separation", "pyannote_vad", "mux"] as const;
