"""Python logging over the stage protocol: each record becomes a line of the
stage logger in ``stagetrace exec`` (stage.log at DEBUG and up, the pipeline
log at INFO and up, with the stage's trace ids)."""

from __future__ import annotations

import logging
import sys

# Names for annotations only, which stay unevaluated (`from __future__ import annotations`):
# importing typing would cost every stage about 4 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

from ._protocol import RecordWriter

_LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warning", "ERROR": "error", "CRITICAL": "critical"}


def level_number(log_level) -> int:
    if isinstance(log_level, int):
        return log_level
    number = logging.getLevelName(str(log_level).upper())
    if not isinstance(number, int):
        raise ValueError("unknown log level %r; use DEBUG, INFO, WARNING, ERROR or CRITICAL" % (log_level,))
    return number


class RecordHandler(logging.Handler):
    """Sends each log record to exec; records at ``console_level`` and up are also shown on exec's stderr."""

    def __init__(self, writer: RecordWriter, console_level: int = logging.INFO):
        super().__init__(logging.DEBUG)
        self.writer = writer
        self.console_level = console_level
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = _LEVELS.get(record.levelname)
            if level is None:
                level = "debug" if record.levelno < logging.INFO else "info" if record.levelno < logging.WARNING else \
                    "warning" if record.levelno < logging.ERROR else "error" if record.levelno < logging.CRITICAL else "critical"
            self.writer.send(
                {"record": "log", "level": level, "message": self.format(record), "logger": record.name,
                 "console": record.levelno >= self.console_level}
            )
        except Exception:
            self.handleError(record)


def stage_logger(name: str, writer: Optional[RecordWriter], log_level="INFO") -> logging.Logger:
    """The stage's logger, with one handler however often it is asked for."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.DEBUG)
    # Root handlers would print the lines a second time, and exec would log that output again.
    logger.propagate = False
    console = level_number(log_level)
    for h in list(logger.handlers):
        if getattr(h, "_stagetrace", False):
            if isinstance(h, RecordHandler) and h.writer is writer:
                h.console_level = console
                return logger
            if writer is None and not isinstance(h, RecordHandler):
                h.setLevel(console)
                return logger
            logger.removeHandler(h)  # a handler of an earlier StageIO of the same name
    if writer is not None:
        handler: logging.Handler = RecordHandler(writer, console)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(console)
        handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    handler._stagetrace = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    return logger


class PipelineLogger:
    """The old ``PipelineLogger("asr")``: a logger for a stage, now backed by
    ``StageIO``, so old code gets stage.log, the pipeline log and a manifest.
    The stage's status is its exit code's, as it never calls finalize()."""

    def __init__(self, stage_name: str, log_level: str = "INFO"):
        from .stage_io import StageIO

        self.io = StageIO(stage_name, _finalize_required=False)
        self.logger = self.io.get_stage_logger(log_level)

    def __getattr__(self, name):
        # debug, info, warning, error, critical, exception, log, setLevel, ...
        return getattr(self.logger, name)
