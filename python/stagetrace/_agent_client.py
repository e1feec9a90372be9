"""A stage handed to ``stagetrace run``'s agent (docs/protocol.md, "The agent
channel"): with STAGETRACE_AGENT naming the run's spool directory and no
STAGETRACE_RECORDS, the stage resolves itself as the TypeScript client does
(run directory, run state, stage list and number, stage directory, parent
span, its own span id) and writes its records, ``begin`` first and ``end``
last, to a file of its own in the spool. The agent, which has the
OpenTelemetry SDK loaded already, makes the manifest, the logs and the span."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

# Names for annotations only, which stay unevaluated (`from __future__ import annotations`):
# importing typing would cost every stage about 4 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

from ._protocol import RecordWriter, above_stdio
from ._stdio_tee import StdioTee

AGENT_ENV = "STAGETRACE_AGENT"
RUN_STATE_FILE = ".stagetrace-run.json"
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


def agent_spool() -> Optional[str]:
    """The spool a stage of this process hands its records to, or None (no agent, or under exec)."""
    spool = os.environ.get(AGENT_ENV, "").strip()
    if not spool or os.environ.get("STAGETRACE_RECORDS"):
        return None
    return spool


def _parent_from_env() -> Optional[Dict[str, Any]]:
    """TRACEPARENT as the W3C propagator reads it, or None when it is missing or invalid."""
    m = _TRACEPARENT.match(os.environ.get("TRACEPARENT", "").strip())
    if not m:
        return None
    version, trace_id, span_id, flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if set(trace_id) == {"0"} or set(span_id) == {"0"}:
        return None
    return {"trace_id": trace_id, "span_id": span_id, "flags": int(flags, 16)}


def _read_run_state(run_dir: Path) -> Optional[Dict[str, Any]]:
    try:
        with open(run_dir / RUN_STATE_FILE, encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _stages(run_dir: Path, state: Dict[str, Any]) -> Optional[List[str]]:
    """STAGETRACE_STAGES, else the run state's list, else stagetrace.json's: as the TypeScript client resolves it."""
    names = [s.strip() for s in os.environ.get("STAGETRACE_STAGES", "").split(",") if s.strip()]
    if names:
        return names
    listed = state.get("stages")
    if isinstance(listed, list) and listed and all(isinstance(s, str) for s in listed):
        return list(listed)
    try:
        with open(run_dir / "stagetrace.json", encoding="utf-8") as f:
            listed = json.load(f).get("stages")
    except (OSError, ValueError, AttributeError):
        return None
    return list(listed) if isinstance(listed, list) and all(isinstance(s, str) for s in listed) else None


class AgentStage:
    """What the stage resolved, and its open file in the spool."""

    def __init__(self, writer: RecordWriter, run_dir: Path, stage_dir: Path, stage_number: Optional[int],
                 stages: Optional[List[str]]):
        self.writer = writer
        self.run_dir = run_dir
        self.stage_dir = stage_dir
        self.stage_number = stage_number
        self.stages = stages
        self.pid = os.getpid()
        self.start = int(time.time() * 1000)
        self._ended = False
        # The process's own stdout and stderr go to stage.log too, as under exec.
        self._tee = StdioTee.start(writer.path)

    def end(self, status: Optional[str], reason: Optional[str]) -> None:
        """The ``end`` record, with this process's resources: the stage is the agent's from here on."""
        if self._ended or os.getpid() != self.pid:  # a forked child does not end its parent's stage
            return
        self._ended = True
        if self._tee is not None:
            self._tee.stop()
        end = int(time.time() * 1000)
        resources: Dict[str, Any] = dict(_own_resources(), wall_time_ms=end - self.start)
        record: Dict[str, Any] = {"record": "end", "end": end, "resources": resources}
        if status is not None:
            record["status"] = status
        if reason is not None:
            record["reason"] = reason
        self.writer.send(record)
        self.writer.close()


def _own_resources() -> Dict[str, int]:
    try:
        import resource
    except ImportError:  # not on this platform
        return {}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss_mb = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return {"cpu_user_ms": round(usage.ru_utime * 1000), "cpu_system_ms": round(usage.ru_stime * 1000),
            "peak_rss_mb": round(rss_mb, 1)}


def _random_hex(n: int) -> str:
    """n random bytes as hex, from os.urandom as secrets.token_hex makes them (secrets, with hmac and
    hashlib, costs a stage about 7 ms to import)."""
    return os.urandom(n).hex()


def _hostname() -> str:
    """The host's name: os.uname's nodename, what gethostname() returns, without importing socket (about 4 ms)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


# The machine name (os.uname) as the semantic conventions' host.arch values name it.
_HOST_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "x86", "i686": "x86",
              "armv7l": "arm32", "ppc64le": "ppc64", "ppc64": "ppc64", "s390x": "s390x"}


def _process_resource(argv: List[str]) -> Dict[str, Any]:
    """This process's host.* and process.* resource attributes, as OpenTelemetry's host and process
    detectors name them; the agent gives them to the stage's span, log records and heartbeats, and
    censors secrets in the command line as it does for its own."""
    # os.uname and sys.version_info, not the platform module, whose import alone costs milliseconds per stage.
    machine = os.uname().machine if hasattr(os, "uname") else ""
    return {
        "host.name": _hostname(),
        "host.arch": _HOST_ARCH.get(machine.lower(), machine.lower()),
        "process.pid": os.getpid(),
        "process.command_args": [str(a) for a in argv],
        "process.executable.name": os.path.basename(sys.executable),
        "process.executable.path": sys.executable,
        "process.runtime.name": sys.implementation.name,
        "process.runtime.version": "%d.%d.%d" % sys.version_info[:3],
        "process.runtime.description": sys.version,
    }


def begin_stage(spool: str, stage_name: str, run_dir: Path, argv: List[str]) -> Optional[AgentStage]:
    """Resolves the stage, creates its directory and its spool file and writes ``begin``;
    None when the stage cannot be handed over (no run state, the spool is gone): exec then runs it."""
    start = int(time.time() * 1000)
    state = _read_run_state(run_dir)
    if state is None:
        # stagetrace run writes the run state before it starts its command: without one this is not its run.
        return None
    stages = _stages(run_dir, state)
    stage_number = stages.index(stage_name) + 1 if stages and stage_name in stages else None
    stage_dir = run_dir / (stage_name if stage_number is None else "%02d_%s" % (stage_number, stage_name))
    try:
        stage_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    path = os.path.join(spool, "%d-%s.jsonl" % (os.getpid(), _random_hex(6)))
    try:
        fd = above_stdio(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0), 0o600))
    except OSError:
        return None
    writer = RecordWriter.from_fd(path, fd)
    # The parent StageIO would take: TRACEPARENT, else the run span in the run state.
    parent = _parent_from_env()
    tracestate = os.environ.get("TRACESTATE", "").strip() if parent else None
    run_trace = state.get("trace")
    if parent is None and isinstance(run_trace, dict) and run_trace.get("trace_id") and run_trace.get("span_id"):
        parent = {"trace_id": run_trace["trace_id"], "span_id": run_trace["span_id"],
                  "flags": int(run_trace.get("trace_flags", 1))}
        tracestate = run_trace.get("tracestate")
    begin: Dict[str, Any] = {
        "record": "begin",
        "stage": stage_name,
        "pid": os.getpid(),
        "host": _hostname(),
        "argv": argv,
        "start": start,
        "trace_id": parent["trace_id"] if parent else _random_hex(16),
        "span_id": _random_hex(8),
        "run_dir": str(run_dir),
        "stage_number": stage_number,
        "stages": stages,
        "env": {k: v for k, v in os.environ.items()
                if k.startswith("STAGETRACE_") or k in ("OUTPUT_DIR", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES")},
        "stderr_tty": bool(getattr(sys.stderr, "isatty", lambda: False)()),
        "resource": _process_resource(argv),
    }
    if parent:
        begin["traceparent"] = "00-%s-%s-0%d" % (parent["trace_id"], parent["span_id"], parent["flags"] & 1)
        if tracestate:
            begin["tracestate"] = tracestate
    writer.send(begin)
    return AgentStage(writer, run_dir, stage_dir, stage_number, stages)
