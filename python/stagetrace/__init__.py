"""stagetrace for Python stages: the stage logging guide's API.

    from stagetrace import StageIO

    io = StageIO("asr")
    logger = io.get_stage_logger()
    io.track_input(audio_file, "audio")
    io.track_output(transcript_file, "transcript")
    io.finalize(status="success")

Each call is reported to the ``stagetrace exec`` running the stage (the
stage protocol), which writes manifest.json, stage.log and the pipeline log
and ends the stage's OpenTelemetry span. Nothing happens at import.
"""

from ._agent import StagetraceNotFoundError
from .logger import PipelineLogger
from .stage_io import StageIO
from .stage_manifest import StageManifest
from .trace_context import otel_context, trace_context

__all__ = ["StageIO", "StageManifest", "PipelineLogger", "StagetraceNotFoundError", "trace_context", "otel_context"]
__version__ = "0.1.0"
