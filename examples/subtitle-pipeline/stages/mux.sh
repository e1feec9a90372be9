#!/bin/sh
# Stage 11, mux (plain shell, run by "stagetrace exec"): writes the final
# container: the metadata and the video track from demux, plus the subtitle
# track from subtitle_generation.
# Reads  $OUTPUT_DIR/01_demux/metadata.json
#        $OUTPUT_DIR/01_demux/video.track
#        $OUTPUT_DIR/10_subtitle_generation/subtitles.srt
# Writes $STAGE_DIR/movie.subtitled.stc
set -eu
demux="$OUTPUT_DIR/01_demux"
srt="$OUTPUT_DIR/10_subtitle_generation/subtitles.srt"
lang="${SUBTITLE_LANG:-und}"
out="$STAGE_DIR/movie.subtitled.stc"

echo "INFO muxing video, metadata and $lang subtitles"
if [ "${FAIL_STAGE:-}" = "mux" ]; then
  echo "ERROR FAIL_STAGE=mux: failing on purpose" >&2
  exit 3
fi

cues=$(grep -c -- ' --> ' "$srt" || true)
if [ "$cues" -eq 0 ]; then
  echo "WARNING $srt has no cues; the subtitle track is empty" >&2
fi
tmp="$out.tmp"
{
  echo "STC1-MUX"
  echo "[metadata]"
  cat "$demux/metadata.json"
  echo "[video]"
  cat "$demux/video.track"
  echo "[subtitles $lang]"
  cat "$srt"
} > "$tmp"
mv "$tmp" "$out"
echo "INFO wrote $(basename "$out"): $(wc -l < "$out" | tr -d ' ') lines, $cues subtitle cues"
