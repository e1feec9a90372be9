#!/usr/bin/env python3
"""Stage 9, translation: word-for-word dictionary translation into
TRANSLATION_TARGET_LANG (fr, the default, or es). Glossary terms (names,
places) are kept as they are; words the dictionary lacks are kept too, with
a warning. Segments that lyrics_detection marked (when it ran) stay marked."""
import json
import os
import sys
from pathlib import Path

from common import fail_if_asked
from stagetrace import StageIO

LANGUAGES = ["fr", "es"]


def data_file(name):
    """The example's data files: SUBTITLE_PIPELINE_DATA, else next to the sources."""
    return Path(os.environ.get("SUBTITLE_PIPELINE_DATA") or Path(__file__).resolve().parent.parent / "data") / name


def main():
    io = StageIO("translation")
    logger = io.get_stage_logger()
    try:
        target = (os.environ.get("TRANSLATION_TARGET_LANG") or "fr").lower()
        io.set_config({"source_lang": "en", "target_lang": target, "method": "dictionary", "keep_glossary_terms": True})
        if target not in LANGUAGES:
            raise ValueError("TRANSLATION_TARGET_LANG=%s is not supported; use one of %s" % (target, ", ".join(LANGUAGES)))

        aligned_path = io.get_input_path("aligned.json", from_stage="alignment")
        glossary_path = io.get_input_path("glossary.json", from_stage="glossary_load")
        dictionary_path = data_file("dictionary.json")
        io.track_input(aligned_path, "transcript")
        io.track_input(glossary_path, "glossary")
        io.track_input(dictionary_path, "dictionary", languages=LANGUAGES)
        segments = io.load_json("aligned.json", from_stage="alignment")["segments"]
        glossary = io.load_json("glossary.json", from_stage="glossary_load")
        dictionary = json.loads(dictionary_path.read_text(encoding="utf-8"))[target]

        # lyrics_detection is optional: its output is used only when the stage ran.
        lyrics_path = io.get_input_path("lyrics.json", from_stage="lyrics_detection")
        lyrics = set()
        if lyrics_path.exists():
            io.track_input(lyrics_path, "lyrics")
            found = io.load_json("lyrics.json", from_stage="lyrics_detection")
            lyrics = {s["id"] for s in found["segments"] if s["lyrics"]}
        else:
            logger.info("no lyrics.json (lyrics_detection did not run); no segment is marked as lyrics")
        fail_if_asked("translation")

        terms = sorted((t["term"].lower().split(" ") for t in glossary["terms"]), key=len, reverse=True)
        missing = set()
        kept = 0
        translated = []
        for s in segments:
            words = [w["word"] for w in s["words"]]
            out, i = [], 0
            while i < len(words):
                term = next((t for t in terms if all(i + k < len(words) and words[i + k].lower() == w for k, w in enumerate(t))), None)
                if term:
                    out.extend(words[i:i + len(term)])
                    kept += len(term)
                    i += len(term)
                    continue
                word = words[i]
                i += 1
                t = dictionary.get(word.lower())
                if t is None:
                    missing.add(word)
                out.append(word if t is None else t)
            logger.debug("%s → %s", s["text"], " ".join(out))
            translated.append({"id": s["id"], "start": s["start"], "end": s["end"], "source": s["text"], "text": " ".join(out), "lyrics": s["id"] in lyrics})
        if missing:
            words = sorted(missing)
            logger.warning("%d words not in the en→%s dictionary: %s", len(words), target, ", ".join(words))
            io.add_warning("%d word%s not in the en→%s dictionary, kept as is: %s" % (len(words), "s" if len(words) > 1 else "", target, ", ".join(words)))

        out_path = io.save_json({"source_lang": "en", "target_lang": target, "segments": translated}, "translation.json")
        io.track_output(out_path, "translation", target_lang=target, segments=len(translated))
        logger.info("translated %d segments into %s", len(translated), target)
        io.finalize(status="success")
        return 0
    except Exception as e:
        logger.error("Stage failed: %s", e, exc_info=True)
        io.add_error(str(e), e)
        io.finalize(status="failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
