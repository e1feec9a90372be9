"""The guide's Pattern 1: Simple Stage (One Input -> One Output)."""
import sys

from stagetrace import StageIO


def process(data):
    return {"items": [str(x).upper() for x in data["items"]]}


def main():
    io = StageIO("simple_stage")
    logger = io.get_stage_logger()
    
    try:
        logger.info("Processing")
        
        # Input
        input_file = io.get_input_path("input.json")
        io.track_input(input_file, "json")
        data = io.load_json("input.json")
        
        # Process
        result = process(data)
        
        # Output
        output_file = io.save_json(result, "output.json")
        io.track_output(output_file, "json")
        
        # Done
        io.finalize(status="success")
        return 0
        
    except Exception as e:
        logger.error(f"Failed: {e}")
        io.finalize(status="failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
