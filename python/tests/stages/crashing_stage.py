"""A stage whose exception nobody catches."""
from stagetrace import StageIO


def load_model(path):
    raise FileNotFoundError(f"no model at {path}")


io = StageIO("crashing")
logger = io.get_stage_logger()
logger.info("loading the model")
load_model("/models/large-v2")
