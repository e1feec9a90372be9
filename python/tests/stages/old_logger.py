"""A stage from before the migration: the old PipelineLogger, unchanged but for the import."""
from stagetrace import PipelineLogger

logger = PipelineLogger("asr")
logger.info("Starting ASR")
logger.debug("model loaded")
logger.warning("low confidence on segment 3")
