#!/usr/bin/env python3
"""Stage 8, lyrics_detection: the optional stage, the guide's Pattern 3.
Skipped unless ENABLE_LYRICS_DETECTION=true; when it runs, segments under
loud music are marked as lyrics (subtitles show them between ♪ marks)."""
import os
import sys

from common import fail_if_asked, read_track
from stagetrace import StageIO


def main():
    io = StageIO("lyrics_detection")
    logger = io.get_stage_logger()
    try:
        fail_if_asked("lyrics_detection")
        if os.environ.get("ENABLE_LYRICS_DETECTION", "false").lower() != "true":
            logger.info("ENABLE_LYRICS_DETECTION is not true; skipping the stage")
            io.finalize(status="skipped", reason="ENABLE_LYRICS_DETECTION is not true")
            return 0
        threshold = float(os.environ.get("LYRICS_MUSIC_THRESHOLD", "0.6"))
        io.set_config({"music_threshold": threshold, "method": "mean-accompaniment-energy"})
        aligned_path = io.get_input_path("aligned.json", from_stage="alignment")
        acc_path = io.get_input_path("accompaniment.track", from_stage="source_separation")
        io.track_input(aligned_path, "transcript")
        io.track_input(acc_path, "audio", track="accompaniment")

        segments = io.load_json("aligned.json", from_stage="alignment")["segments"]
        music = [(float(f["t"]), float(f["music"])) for f in read_track(acc_path)]
        result = []
        for s in segments:
            inside = [m for t, m in music if s["start"] - 1e-6 <= t < s["end"] - 1e-6]
            mean = sum(inside) / max(1, len(inside))
            mean_music = round(mean * 1000) / 1000
            logger.debug("segment %s: mean music %s", s["id"], mean_music)
            result.append({"id": s["id"], "mean_music": mean_music, "lyrics": mean > threshold})
        lyrics = sum(1 for r in result if r["lyrics"])
        out = io.save_json({"threshold": threshold, "segments": result}, "lyrics.json")
        io.track_output(out, "lyrics", segments=len(result), lyrics=lyrics)
        logger.info("%d of %d segments are lyrics", lyrics, len(result))
        io.finalize(status="success")
        return 0
    except Exception as e:
        logger.error("lyrics_detection failed: %s", e, exc_info=True)
        io.add_error(str(e), e)
        io.finalize(status="failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
