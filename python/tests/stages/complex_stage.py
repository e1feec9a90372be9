"""The guide's Pattern 2: Complex Stage (Multiple Inputs/Outputs)."""
import sys

from stagetrace import StageIO


def download_model(path):
    path.write_bytes(b"model weights")


def process_primary(audio):
    return {"kind": "primary", "bytes": audio.stat().st_size}


def process_secondary(audio):
    return {"kind": "secondary"}


def main():
    io = StageIO("complex_stage")
    logger = io.get_stage_logger()
    
    try:
        logger.info("Starting complex processing")
        
        # Multiple inputs
        audio = io.get_input_path("audio.wav", from_stage="demux")
        metadata = io.get_input_path("metadata.json", from_stage="demux")
        glossary = io.get_input_path("glossary.json", from_stage="glossary_load")
        
        io.track_input(audio, "audio")
        io.track_input(metadata, "metadata")
        if glossary.exists():
            io.track_input(glossary, "glossary")
        
        # Process with cache
        cache_dir = io.stage_dir / ".cache"
        cache_dir.mkdir(exist_ok=True)
        
        model_path = cache_dir / "model.bin"
        if not model_path.exists():
            logger.info("Downloading model...")
            download_model(model_path)
        io.track_intermediate(model_path, retained=True,
                             reason="Cached model for reuse")
        
        # Multiple outputs
        result1 = process_primary(audio)
        result2 = process_secondary(audio)
        
        output1 = io.save_json(result1, "primary.json")
        output2 = io.save_json(result2, "secondary.json")
        
        io.track_output(output1, "result", type="primary")
        io.track_output(output2, "result", type="secondary")
        
        # Configuration
        io.set_config({
            "model": "large-v2",
            "used_glossary": glossary.exists()
        })
        
        # Done
        io.finalize(status="success")
        return 0
        
    except Exception as e:
        logger.error(f"Failed: {e}", exc_info=True)
        io.add_error(str(e), e)
        io.finalize(status="failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
