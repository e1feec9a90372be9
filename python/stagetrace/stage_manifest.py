"""The guide's ``StageManifest``: a stage's manifest built in memory.

Under ``stagetrace exec`` the manifest.json of a stage is written by exec,
from the stage span; ``StageIO`` keeps a ``StageManifest`` of what it
reported (``io.manifest``) so code can ask ``has_errors()`` and the like.
On its own the class builds, saves and loads manifests with the same keys.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

# Names for annotations only, which stay unevaluated (`from __future__ import annotations`):
# importing typing would cost every stage about 4 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

from ._protocol import jsonable

SCHEMA_VERSION = "1.0"
STATUSES = ("success", "failed", "skipped", "running")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def exception_fields(exception: BaseException) -> Dict[str, str]:
    """type, message and traceback of an exception, as the protocol and the manifest hold them."""
    cls = type(exception)
    module = cls.__module__
    name = cls.__qualname__ if module in ("builtins", "__main__") else "%s.%s" % (module, cls.__qualname__)
    stack = "".join(traceback.format_exception(cls, exception, exception.__traceback__)).rstrip("\n")
    return {"type": name, "message": str(exception), "stack": stack}


def _sha256(path: Path) -> Optional[str]:
    # Imported when a file is hashed: under the run's agent the agent hashes, and hashlib costs a stage about 3 ms.
    import hashlib

    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


class StageManifest:
    def __init__(self, stage_name: str, stage_number: Optional[int] = None, hash_files: bool = True):
        self.stage_name = stage_name
        self.stage_number = stage_number
        self._hash_files = hash_files
        self._started = time.time()
        self._data: Dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "stage": stage_name,
            "stage_number": stage_number,
            "status": "running",
            "status_reason": None,
            "started_at": _now(),
            "ended_at": None,
            "duration_ms": None,
            "inputs": [],
            "outputs": [],
            "intermediate_files": [],
            "config": {},
            "warnings": [],
            "errors": [],
            "resources": {},
        }

    def _file(self, file_path: Any, file_type: str, metadata: Dict[str, Any]) -> Dict[str, Any]:
        path = Path(os.path.abspath(str(file_path)))
        entry: Dict[str, Any] = {"path": str(path), "name": path.name, "type": str(file_type)}
        try:
            st = path.stat()
            entry.update(exists=True, size=st.st_size, modified=datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat().replace("+00:00", "Z"))
            entry["hash"] = _sha256(path) if self._hash_files and path.is_file() else None
        except OSError:
            entry.update(exists=False, size=None, modified=None, hash=None)
        entry["metadata"] = jsonable(dict(metadata))
        return entry

    def add_input(self, file_path: Path, file_type: str = "file", **metadata) -> None:
        self._data["inputs"].append(self._file(file_path, file_type, metadata))

    def add_output(self, file_path: Path, file_type: str = "file", **metadata) -> None:
        self._data["outputs"].append(self._file(file_path, file_type, metadata))

    def add_intermediate(self, file_path: Path, retained: bool = False, reason: str = "") -> None:
        entry = self._file(file_path, "intermediate", {})
        entry.update(retained=bool(retained), reason=str(reason))
        self._data["intermediate_files"].append(entry)

    def add_config(self, key: str, value: Any) -> None:
        self._data["config"][str(key)] = jsonable(value)

    def set_config(self, config_dict: Dict[str, Any]) -> None:
        for key, value in dict(config_dict).items():
            self.add_config(key, value)

    def add_warning(self, message: str) -> None:
        self._data["warnings"].append({"message": str(message), "timestamp": _now()})

    def add_error(self, message: str, exception: Optional[BaseException] = None) -> None:
        entry: Dict[str, Any] = {"message": str(message), "type": "Error", "stack": None, "timestamp": _now()}
        if exception is not None:
            fields = exception_fields(exception)
            entry.update(type=fields["type"], stack=fields["stack"])
        self._data["errors"].append(entry)

    def set_resources(self, **resources) -> None:
        self._data["resources"].update(jsonable(resources))

    def finalize(self, status: str = "success", **kwargs) -> None:
        if status not in ("success", "failed", "skipped"):
            raise ValueError("unknown stage status %r; use success, failed or skipped" % (status,))
        self._data["status"] = status
        reason = kwargs.pop("reason", None)
        error = kwargs.pop("error", None)
        if reason is None and error is not None:
            reason = str(error)
        self._data["status_reason"] = None if reason is None else str(reason)
        self._data["ended_at"] = _now()
        self._data["duration_ms"] = int(round((time.time() - self._started) * 1000))
        for key, value in kwargs.items():
            self._data[str(key)] = jsonable(value)

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(".%s.%d.tmp" % (path.name, os.getpid()))
        tmp.write_text(json.dumps(self._data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("%s is not a manifest (not a JSON object)" % path)
        self._data = data
        self.stage_name = data.get("stage", self.stage_name)
        self.stage_number = data.get("stage_number", self.stage_number)

    def to_dict(self) -> Dict[str, Any]:
        return json.loads(json.dumps(self._data))

    def get_inputs(self) -> List[Dict[str, Any]]:
        return list(self._data.get("inputs", []))

    def get_outputs(self) -> List[Dict[str, Any]]:
        return list(self._data.get("outputs", []))

    def get_intermediate_files(self) -> List[Dict[str, Any]]:
        return list(self._data.get("intermediate_files", []))

    def has_errors(self) -> bool:
        return len(self._data.get("errors", [])) > 0

    def has_warnings(self) -> bool:
        return len(self._data.get("warnings", [])) > 0
