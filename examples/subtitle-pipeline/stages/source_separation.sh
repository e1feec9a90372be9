#!/bin/sh
# Stage 4, source_separation (plain shell, run by "stagetrace exec"): splits
# the demuxed audio track into vocals and accompaniment. The "separation"
# removes a little music bleed from the voice energy.
# Reads  $OUTPUT_DIR/01_demux/audio.track   (t voice music word)
# Writes $STAGE_DIR/vocals.track            (t voice word)
#        $STAGE_DIR/accompaniment.track     (t music)
set -eu
in="$OUTPUT_DIR/01_demux/audio.track"
bleed="${SEPARATION_BLEED:-0.1}"

echo "INFO separating $in (music bleed $bleed)"
if [ "${FAIL_STAGE:-}" = "source_separation" ]; then
  echo "ERROR FAIL_STAGE=source_separation: failing on purpose" >&2
  exit 3
fi

awk -v bleed="$bleed" -v vocals="$STAGE_DIR/vocals.track" -v acc="$STAGE_DIR/accompaniment.track" '
  NR == 1 { print "t voice word" > vocals; print "t music" > acc; next }
  {
    v = $2 - bleed * $3; if (v < 0) v = 0
    printf "%s %.2f %s\n", $1, v, $4 > vocals
    printf "%s %.2f\n", $1, $3 > acc
    n++
  }
  END { printf "INFO wrote %d frames to vocals.track and accompaniment.track\n", n }
' "$in"
