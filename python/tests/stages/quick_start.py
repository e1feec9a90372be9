#!/usr/bin/env python3
"""Stage: example - Example stage implementation"""

import os
import sys
from pathlib import Path

# Add project to path
sys.path.insert(0, str(Path(__file__).parent.parent))

from stagetrace import StageIO

def main():
    # Initialize stage I/O (enables manifest + dual logging)
    io = StageIO("example")
    logger = io.get_stage_logger()
    
    try:
        logger.info("Starting example stage")
        
        # Track input
        input_file = io.get_input_path("input.json", from_stage="previous_stage")
        io.track_input(input_file, "json", description="Input data")
        
        # Process
        logger.info("Processing data...")
        output_file = io.get_output_path("output.json")
        # ... your processing logic ...
        output_file.write_text(input_file.read_text())  # (the test's processing logic)
        
        # Track output
        io.track_output(output_file, "json", description="Processed data")
        logger.info(f"Generated output: {output_file}")
        
        # Finalize
        io.finalize(status="success")
        logger.info("Stage complete")
        return 0
        
    except Exception as e:
        logger.error(f"Stage failed: {e}", exc_info=True)
        io.add_error(str(e), e)
        io.finalize(status="failed")
        return 1

if __name__ == "__main__":
    sys.exit(main())
