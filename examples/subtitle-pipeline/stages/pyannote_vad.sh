#!/bin/sh
# Stage 5, pyannote_vad (plain shell, run by "stagetrace exec"): voice
# activity detection. A speech segment is a run of frames whose vocal energy
# is above the threshold; runs shorter than the minimum are dropped.
# Reads  $OUTPUT_DIR/04_source_separation/vocals.track   (t voice word)
# Writes $STAGE_DIR/segments.tsv                         (id start end)
set -eu
in="$OUTPUT_DIR/04_source_separation/vocals.track"
threshold="${VAD_THRESHOLD:-0.5}"
min_s="${VAD_MIN_SPEECH_S:-0.2}"

echo "INFO detecting speech in $in (threshold $threshold, minimum $min_s s)"
if [ "${FAIL_STAGE:-}" = "pyannote_vad" ]; then
  echo "ERROR FAIL_STAGE=pyannote_vad: failing on purpose" >&2
  exit 3
fi

awk -v th="$threshold" -v min="$min_s" -v out="$STAGE_DIR/segments.tsv" '
  function close_run(end_t) {
    if (start != "" && end_t - start >= min - 1e-9) { n++; printf "%d\t%.2f\t%.2f\n", n, start, end_t > out }
    else if (start != "") { dropped++; printf "DEBUG dropped a %.2f s run at %.2f\n", end_t - start, start }
    start = ""
  }
  NR == 1 { print "id\tstart\tend" > out; start = ""; next }
  NR == 3 { frame = $1 - prev }
  {
    if ($2 > th) { if (start == "") start = $1 }
    else close_run($1)
    prev = $1
  }
  END {
    close_run(prev + frame)
    printf "INFO %d speech segments", n; if (dropped) printf ", %d short runs dropped", dropped; printf "\n"
  }
' "$in"
