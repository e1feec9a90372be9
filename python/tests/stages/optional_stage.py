"""The guide's Pattern 3: Optional Stage (Can Be Skipped)."""
import os
import sys

from stagetrace import StageIO


def main():
    io = StageIO("optional_stage")
    logger = io.get_stage_logger()
    
    try:
        # Check if stage should run
        enable_feature = os.environ.get("ENABLE_FEATURE", "false").lower() == "true"
        
        if not enable_feature:
            logger.info("Feature disabled, skipping stage")
            io.finalize(status="skipped", reason="Feature flag disabled")
            return 0
        
        # Normal processing
        logger.info("Feature enabled, processing")
        # ... processing logic ...
        
        io.finalize(status="success")
        return 0
        
    except Exception as e:
        logger.error(f"Failed: {e}")
        io.finalize(status="failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
