"""The writing end of the stage protocol (docs/protocol.md): one JSON object
per line, appended with one write on an O_APPEND descriptor, to the file
that ``stagetrace exec`` names in STAGETRACE_RECORDS."""

from __future__ import annotations

import json
import math
import os
import threading
from pathlib import PurePath

# Names for annotations only, which stay unevaluated (`from __future__ import annotations`):
# importing typing would cost every stage about 4 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

PROTOCOL_VERSION = 1
RECORDS_ENV = "STAGETRACE_RECORDS"
MAX_RECORD_BYTES = 256 * 1024


def jsonable(value: Any, depth: int = 0) -> Any:
    """A value JSON can hold and exec will read: paths and unknown objects
    become strings, NaN and infinities their names, tuples and sets lists."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, PurePath):
        return str(value)
    if depth >= 8:
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, depth + 1) for v in value]
    return str(value)


def above_stdio(fd: int) -> int:
    """`fd` moved to 3 or above (close-on-exec): a process started with stdout or stderr closed would
    otherwise get 1 or 2 for a file it opens, and its output would be written into that file."""
    if fd > 2:
        return fd
    import fcntl

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    os.close(fd)
    return moved


class RecordWriter:
    """Appends records to the stage's records file. Safe to share between threads;
    a forked child writes through the same descriptor, whole lines still."""

    def __init__(self, path: str, fd: Optional[int] = None):
        self.path = path
        self._fd = above_stdio(os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0))) if fd is None else fd
        self._lock = threading.Lock()

    @classmethod
    def from_fd(cls, path: str, fd: int) -> "RecordWriter":
        """A writer on a descriptor already open with O_APPEND (a stage's file in the agent's spool)."""
        return cls(path, fd)

    @classmethod
    def from_env(cls) -> Optional["RecordWriter"]:
        path = os.environ.get(RECORDS_ENV)
        return cls(path) if path else None

    def send(self, record: Dict[str, Any]) -> None:
        data = self._encode(record)
        if len(data) > MAX_RECORD_BYTES:
            # exec would drop it; say what it was instead, in a record that fits.
            data = self._encode(
                {
                    "record": "warning",
                    "message": "a %s record of %d bytes was over the protocol's limit of %d bytes and was not sent"
                    % (record.get("record"), len(data), MAX_RECORD_BYTES),
                }
            )
        with self._lock:
            if self._fd < 0:
                return
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]

    @staticmethod
    def _encode(record: Dict[str, Any]) -> bytes:
        text = json.dumps(dict({"v": PROTOCOL_VERSION}, **jsonable(record)), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return (text + "\n").encode("utf-8", "surrogateescape")

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
