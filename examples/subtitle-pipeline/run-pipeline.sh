#!/usr/bin/env bash
# The subtitle pipeline: eleven stages, each its own process, run in order.
# TypeScript stages use runStage/StageIO; Python stages use the Python
# package (python/ of this repository), which starts "stagetrace exec" itself;
# shell stages run under "stagetrace exec". The whole run is one trace under "stagetrace run".
#
#   bash examples/subtitle-pipeline/run-pipeline.sh      (OUTPUT_DIR picks the run directory)
#
# Knobs: INPUT_MEDIA, FAIL_STAGE, HANG_STAGE, ENABLE_LYRICS_DETECTION, TRANSLATION_TARGET_LANG, TMDB_API_KEY.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
stages="demux,tmdb,glossary_load,source_separation,pyannote_vad,asr,alignment,lyrics_detection,translation,subtitle_generation,mux"
js="$root/dist/examples/subtitle-pipeline/stages"

if [ ! -f "$js/demux.js" ] || [ ! -f "$root/dist/src/cli/main.js" ]; then
  echo "run-pipeline.sh: $js is not built; run \"npm run build\" first" >&2
  exit 1
fi

# Outside "stagetrace run", start over under it: one run span, one run directory.
if [ -z "${STAGETRACE_RUN_ID:-}" ]; then
  exec "$root/bin/stagetrace" run --name subtitle-pipeline --stages "$stages" -- bash "$0" "$@"
fi

out="$OUTPUT_DIR"
if [ -z "${INPUT_MEDIA:-}" ]; then
  INPUT_MEDIA="$out/input/movie.stc"
  node "$here/make-input.mjs" "$INPUT_MEDIA"
fi
export INPUT_MEDIA
export SUBTITLE_PIPELINE_DATA="$here/data"
lang="${TRANSLATION_TARGET_LANG:-fr}"

ts_stage() {
  node "$js/$1.js"
}

# Started directly, as "python3 stage.py": the package finds the CLI through
# STAGETRACE_CLI and runs the stage under "stagetrace exec --stage <name>".
py_stage() {
  PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" STAGETRACE_CLI="$root/bin/stagetrace" python3 "$here/stages/$1.py"
}

ts_stage demux
ts_stage tmdb
ts_stage glossary_load

stagetrace exec --stage source_separation \
  --input "$out/01_demux/audio.track:audio" \
  --output vocals.track:audio --output accompaniment.track:audio \
  --config method=energy-split --config "music_bleed=${SEPARATION_BLEED:-0.1}" \
  -- sh "$here/stages/source_separation.sh"

stagetrace exec --stage pyannote_vad \
  --input "$out/04_source_separation/vocals.track:audio" \
  --output segments.tsv:segments \
  --config "threshold=${VAD_THRESHOLD:-0.5}" --config "min_speech_s=${VAD_MIN_SPEECH_S:-0.2}" \
  -- sh "$here/stages/pyannote_vad.sh"

py_stage asr
ts_stage alignment
py_stage lyrics_detection
py_stage translation
ts_stage subtitle_generation

SUBTITLE_LANG="$lang" stagetrace exec --stage mux \
  --input "$out/01_demux/metadata.json:metadata" \
  --input "$out/01_demux/video.track:video" \
  --input "$out/10_subtitle_generation/subtitles.srt:subtitle" \
  --output movie.subtitled.stc:media \
  --config container=stc --config "subtitle_lang=$lang" \
  -- sh "$here/stages/mux.sh"

echo "subtitle-pipeline: done; the subtitled movie is $out/11_mux/movie.subtitled.stc"
