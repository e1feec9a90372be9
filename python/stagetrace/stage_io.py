"""The guide's ``StageIO``, in its names and signatures, reporting to ``stagetrace exec``."""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

# Names for annotations only, which stay unevaluated (`from __future__ import annotations`):
# importing typing would cost every stage about 4 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

from . import _agent, _agent_client
from ._protocol import RecordWriter, jsonable
from .logger import stage_logger
from .stage_manifest import StageManifest, exception_fields

_STAGE_DIR_NAME = re.compile(r"^(\d+)_(.+)$")
_STATUSES = ("success", "failed", "skipped")

NOT_FINALIZED_REASON = "finalize() was not called"



_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _located(file_path: Any) -> str:
    """A local path made absolute; a URI (``s3://...``, ``https://...``) as given, recorded by exec as a URI."""
    text = str(file_path)
    return text if _URI.match(text) else os.path.abspath(text)


def _run_dir(output_base: Optional[Any]) -> Path:
    if output_base is not None:
        return Path(os.path.abspath(str(output_base)))
    env = os.environ
    for name in ("OUTPUT_DIR", "STAGETRACE_RUN_DIR"):
        if env.get(name, "").strip():
            return Path(os.path.abspath(env[name]))
    return Path(os.path.abspath("out")) / ("run-" + datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ"))


class StageIO:
    """One stage of a pipeline: its directory, its logger and what it tracks.

    Under ``stagetrace exec`` (STAGETRACE_RECORDS set), every call is a record
    for exec, which writes manifest.json, stage.log and the pipeline log and
    ends the stage span. Started directly (``python stage.py``), the process
    first restarts itself under ``stagetrace exec --stage <stage_name>``
    (the CLI from STAGETRACE_CLI, else PATH), unless ``stagetrace run``'s agent
    is there (STAGETRACE_AGENT): then the records go to the stage's own file in
    the agent's spool, with no exec process. ``enable_manifest=False`` runs
    without stagetrace: logs go to stderr, nothing is written.
    """

    def __init__(self, stage_name: str, output_base: Optional[Path] = None, enable_manifest: bool = True,
                 _finalize_required: bool = True):
        if not isinstance(stage_name, str) or not stage_name.strip():
            raise ValueError("StageIO: expected a stage name, got %r" % (stage_name,))
        self.stage_name = stage_name
        self.enable_manifest = enable_manifest
        self._writer: Optional[RecordWriter] = RecordWriter.from_env() if enable_manifest else None
        self._agent: Optional[_agent_client.AgentStage] = None
        spool = _agent_client.agent_spool() if enable_manifest and self._writer is None else None
        if spool is not None and _finalize_required:
            # Under stagetrace run's agent: the stage's records go to a file of its own in the agent's spool.
            self._agent = _agent_client.begin_stage(spool, stage_name, _run_dir(output_base), _agent.this_command())
            if self._agent is not None:
                self._writer = self._agent.writer
        if enable_manifest and self._writer is None:
            _agent.reexec_under_cli(stage_name, None if output_base is None else str(output_base))
        env = os.environ
        under_exec = self._writer is not None and self._agent is None
        if self._agent is not None:
            self.output_base = self._agent.run_dir
            self.stage_dir = self._agent.stage_dir
        else:
            self.output_base = _run_dir(None if under_exec else output_base)
            if under_exec and env.get("STAGE_DIR"):
                self.stage_dir = Path(env["STAGE_DIR"])
            else:
                self.stage_dir = self.output_base / stage_name
        m = _STAGE_DIR_NAME.match(self.stage_dir.name)
        self.stage_number: Optional[int] = int(m.group(1)) if m else None
        stages = [s.strip() for s in env.get("STAGETRACE_STAGES", "").split(",") if s.strip()]
        self.stages: Optional[List[str]] = self._agent.stages if self._agent is not None else (stages or None)
        self.stage_dir.mkdir(parents=True, exist_ok=True)
        self.manifest = StageManifest(stage_name, self.stage_number, hash_files=False)
        self._finalized = False
        self._status: Optional[str] = None
        self._reason: Optional[str] = None
        self._logger: Optional[logging.Logger] = None
        exec_stage = env.get("STAGETRACE_STAGE")
        if under_exec and exec_stage and exec_stage != stage_name:
            self._send({"record": "warning",
                        "message": "StageIO(%r) runs as stage %r, the name stagetrace exec was given" % (stage_name, exec_stage)})
        if self._writer is not None:
            self._install_hooks(_finalize_required)

    # -- where files are ---------------------------------------------------

    def get_stage_logger(self, log_level: str = "INFO") -> logging.Logger:
        """A standard logging.Logger: DEBUG and up go to stage.log, INFO and up
        also to the pipeline log; ``log_level`` and up are also shown on the terminal."""
        self._logger = stage_logger(self.stage_name, self._writer, log_level)
        return self._logger

    def _stage_dir_of(self, stage: str) -> Path:
        if self.stages and stage in self.stages:
            return self.output_base / ("%02d_%s" % (self.stages.index(stage) + 1, stage))
        try:
            for entry in sorted(os.listdir(self.output_base)):
                m = _STAGE_DIR_NAME.match(entry)
                if m and m.group(2) == stage:
                    return self.output_base / entry
        except OSError:
            pass
        return self.output_base / stage

    def get_input_path(self, filename: str, from_stage: Optional[str] = None) -> Path:
        """A file in another stage's directory (``from_stage``), or, without it,
        in the previous stage's directory when the stage list is known, else in the run directory."""
        if from_stage is not None:
            base = self._stage_dir_of(from_stage)
        elif self.stages and self.stage_number is not None and 1 < self.stage_number <= len(self.stages) + 1:
            previous = self.stages[self.stage_number - 2]
            base = self.output_base / ("%02d_%s" % (self.stage_number - 1, previous))
        else:
            base = self.output_base
        return base / filename

    def get_output_path(self, filename: str) -> Path:
        """A file in this stage's directory; creates the directories it needs."""
        path = self.stage_dir / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    # -- what the stage does -------------------------------------------------

    def _send(self, record: Dict[str, Any]) -> None:
        if self._writer is not None:
            self._writer.send(record)

    def _after_finalize(self, call: str) -> bool:
        if not self._finalized:
            return False
        warnings.warn("stage %s: %s after finalize() is ignored; the manifest is already written" % (self.stage_name, call), stacklevel=3)
        return True

    def _track(self, role: str, file_path: Any, file_type: str, metadata: Dict[str, Any]) -> None:
        if self._after_finalize("track_%s(%r)" % (role, str(file_path))):
            return
        record: Dict[str, Any] = {"record": role, "path": _located(file_path), "file_type": str(file_type)}
        if metadata:
            record["metadata"] = metadata
        self._send(record)
        (self.manifest.add_input if role == "input" else self.manifest.add_output)(file_path, file_type, **metadata)

    def track_input(self, file_path: Path, file_type: str = "file", **metadata) -> None:
        """Records a file the stage reads (path, size, modification time, sha256; metadata as given)."""
        self._track("input", file_path, file_type, metadata)

    def track_output(self, file_path: Path, file_type: str = "file", **metadata) -> None:
        """Records a file the stage wrote; track it once it is written."""
        self._track("output", file_path, file_type, metadata)

    def track_intermediate(self, file_path: Path, retained: bool = False, reason: str = "") -> None:
        """A cache or temp file: ``retained`` says whether it outlives the stage, ``reason`` why it exists."""
        if self._after_finalize("track_intermediate(%r)" % str(file_path)):
            return
        self._send({"record": "intermediate", "path": _located(file_path), "retained": bool(retained), "reason": str(reason)})
        self.manifest.add_intermediate(file_path, retained, reason)

    def add_config(self, key: str, value: Any) -> None:
        self.set_config({key: value})

    def set_config(self, config_dict: Dict[str, Any]) -> None:
        """Records config; nested dicts are flattened and secret-looking keys redacted by stagetrace."""
        if self._after_finalize("set_config()"):
            return
        self._send({"record": "config", "values": dict(config_dict)})
        self.manifest.set_config(config_dict)

    def add_warning(self, message: str) -> None:
        if self._after_finalize("add_warning()"):
            return
        self._send({"record": "warning", "message": str(message)})
        self.manifest.add_warning(message)

    def add_error(self, message: str, exception: Optional[BaseException] = None) -> None:
        """Records an error: with ``exception``, its type, message and traceback. Does not change the status by itself."""
        if self._after_finalize("add_error()"):
            return
        record: Dict[str, Any] = {"record": "error", "message": str(message)}
        if exception is not None:
            record["exception"] = exception_fields(exception)
        self._send(record)
        self.manifest.add_error(message, exception)

    def set_resources(self, **resources) -> None:
        """Records resource figures of your own (name keys after their unit: ``memory_mb``)."""
        if self._after_finalize("set_resources()"):
            return
        self._send({"record": "resources", "values": resources})
        self.manifest.set_resources(**resources)

    def finalize(self, status: str = "success", save_manifest: bool = True, **kwargs) -> None:
        """Ends the stage: ``status`` is success, failed or skipped; ``reason=`` says why,
        ``error=`` (a message or an exception) is recorded as an error and is the reason.
        exec writes manifest.json when the process exits; ``save_manifest=False``
        changes nothing there (the manifest is exec's). A second call is ignored."""
        if status not in _STATUSES:
            raise ValueError("unknown stage status %r; use one of %s" % (status, ", ".join(_STATUSES)))
        if self._finalized:
            warnings.warn("stage %s: finalize(%r) called again; the first status stands" % (self.stage_name, status), stacklevel=2)
            return
        error = kwargs.get("error")
        reason = kwargs.get("reason")
        if error is not None:
            self.add_error(str(error), error if isinstance(error, BaseException) else None)
            if reason is None:
                reason = str(error)
        if reason is None and status == "failed" and self.manifest.has_errors():
            # The guide's `io.add_error(str(e), e); io.finalize(status="failed")`: the error is why.
            reason = self.manifest.to_dict()["errors"][-1]["message"]
            kwargs["reason"] = reason
        record: Dict[str, Any] = {"record": "status", "status": status}
        if reason is not None:
            record["reason"] = str(reason)
        self._send(record)
        self.manifest.finalize(status, **kwargs)
        self._finalized = True
        self._status, self._reason = status, (None if reason is None else str(reason))

    # -- files of the stage's own ---------------------------------------------

    def save_json(self, data: Any, filename: str) -> Path:
        """Writes ``data`` as pretty JSON into the stage directory (atomically) and returns the path."""
        path = self.get_output_path(filename)
        tmp = path.with_name(".%s.%d.tmp" % (path.name, os.getpid()))
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    def load_json(self, filename: str, from_stage: Optional[str] = None) -> Any:
        """Reads JSON written by this or another stage, found as ``get_input_path`` finds it."""
        path = self.get_input_path(filename, from_stage)
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    def save_metadata(self, metadata: Dict[str, Any]) -> Path:
        return self.save_json(metadata, "metadata.json")

    # -- the end of the process -----------------------------------------------

    def _install_hooks(self, finalize_required: bool) -> None:
        if self._agent is not None:
            # atexit runs its handlers last registered first: this one, the stage's end, after at_exit below.
            agent = self._agent
            atexit.register(lambda: agent.end(self._status, self._reason))
        previous = sys.excepthook

        def excepthook(cls, exception, tb):
            # An exception nobody caught fails the stage, with its type, message and traceback.
            if not self._finalized:
                try:
                    message = str(exception) or cls.__name__
                    self.add_error(message, exception)
                    self.finalize("failed", reason=message)
                except Exception:
                    pass
            previous(cls, exception, tb)

        sys.excepthook = excepthook

        if finalize_required:
            def at_exit():
                # As with a TypeScript stage: a stage that never called finalize() failed.
                if not self._finalized:
                    self.add_error("stage %s ended without calling finalize()" % self.stage_name)
                    self.finalize("failed", reason=NOT_FINALIZED_REASON)

            atexit.register(at_exit)
