#!/usr/bin/env python3
"""Stage 6, asr: "recognises" the words spoken in each speech segment (the
synthetic audio carries them frame by frame) and writes transcript.json and
one text file per segment, found and tracked after they are written. Names
from the glossary get their spelling. A small model cache in the stage
directory is a retained intermediate; the decoder's frame buffer is a temp
file that is not retained. Written as the guide's Python stages are."""
import sys

from common import fail_if_asked, read_track
from stagetrace import StageIO

MODEL = "toy-asr-en-v1"


def apply_glossary(words, glossary):
    """Replaces lower-case word runs that spell a glossary term with the term's own spelling."""
    terms = sorted((t["term"].split(" ") for t in glossary["terms"]), key=len, reverse=True)
    out, i = [], 0
    while i < len(words):
        hit = next((t for t in terms if all(i + k < len(words) and words[i + k].lower() == w.lower() for k, w in enumerate(t))), None)
        if hit:
            out.extend(hit)
            i += len(hit)
        else:
            out.append(words[i])
            i += 1
    return out


def main():
    io = StageIO("asr")
    logger = io.get_stage_logger()
    try:
        segments_path = io.get_input_path("segments.tsv", from_stage="pyannote_vad")
        vocals_path = io.get_input_path("vocals.track", from_stage="source_separation")
        io.track_input(segments_path, "segments")
        io.track_input(vocals_path, "audio", track="vocals")
        glossary_path = io.get_input_path("glossary.json", from_stage="glossary_load")
        glossary = {"terms": []}
        if glossary_path.exists():
            io.track_input(glossary_path, "glossary")
            glossary = io.load_json("glossary.json", from_stage="glossary_load")
        else:
            io.add_warning("no glossary: names keep the recogniser's spelling")
        io.set_config({"model": MODEL, "language": "en", "beam_size": 1, "hotwords": len(glossary["terms"])})

        # The "model": downloaded once, then reused from the stage directory's cache by later runs.
        model = io.stage_dir / ".cache" / ("%s.bin" % MODEL)
        model.parent.mkdir(parents=True, exist_ok=True)
        if not model.exists():
            logger.info("no cached model; writing %s", MODEL)
            model.write_text("%s\nframe-word decoder, no weights\n" % MODEL)
        else:
            logger.debug("model found in cache: %s", model)
        io.track_intermediate(model, retained=True, reason="%s model cache, reused by later runs" % MODEL)

        fail_if_asked("asr")
        frames = read_track(vocals_path)
        # The decoder's working copy of the frames: of no use once the stage is done.
        buffer = io.get_output_path(".temp/frames.tsv")
        buffer.write_text("".join("%s %s\n" % (f["t"], f.get("word", "-")) for f in frames))
        io.track_intermediate(buffer, retained=False, reason="decoder frame buffer, not kept for later runs")

        segments = []
        for s in read_track(segments_path):
            start, end = float(s["start"]), float(s["end"])
            words, last = [], "-"
            for f in frames:
                t = float(f["t"])
                if t < start - 1e-9 or t >= end - 1e-9:
                    continue
                word = f.get("word", "")
                if word and word != "-" and word != last:
                    words.append(word)
                last = word or "-"
            spelled = apply_glossary(words, glossary)
            logger.debug("segment %s: %s", s["id"], " ".join(spelled))
            segments.append({"id": int(s["id"]), "start": start, "end": end, "text": " ".join(spelled), "words": spelled})
            io.get_output_path("segments/%03d.txt" % int(s["id"])).write_text(" ".join(spelled) + "\n")
        empty = [s["id"] for s in segments if not s["words"]]
        if empty:
            message = "%d speech segments without words: %s" % (len(empty), ", ".join(map(str, empty)))
            logger.warning(message)
            io.add_warning(message)

        out = io.save_json({"language": "en", "model": MODEL, "segments": segments}, "transcript.json")
        word_count = sum(len(s["words"]) for s in segments)
        io.track_output(out, "transcript", format="json", segments=len(segments), words=word_count)
        # The per-segment files, as found on disk.
        for path in sorted((io.stage_dir / "segments").glob("*.txt")):
            io.track_output(path, "segment_text", segment=int(path.stem))
        io.set_resources(segments=len(segments), words=word_count)
        logger.info("transcribed %d segments, %d words", len(segments), word_count)
        io.finalize(status="success")
        return 0
    except Exception as e:
        logger.error("Stage failed: %s", e, exc_info=True)
        io.add_error(str(e), e)
        io.finalize(status="failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
