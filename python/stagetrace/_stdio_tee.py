"""A stage under the run's agent captures its own stdout and stderr, as `stagetrace exec` captures
a command's: what the process writes on file descriptors 1 and 2 goes through a pipe to a small
forked process, which copies it byte for byte to where it went before and sends it to the agent as
``stdio`` records, which the agent logs line by line into stage.log as exec would.

A forked process rather than a thread: it outlives the stage. When the stage is killed (even with
SIGKILL) the pipe closes, and the tee still copies and records what was written before."""

from __future__ import annotations

import codecs
import errno
import os
import select
import signal
import sys
import time

# Names for annotations only, which stay unevaluated (`from __future__ import annotations`):
# importing typing would cost every stage about 4 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Optional

from ._protocol import RecordWriter

# Read at most this much at a time: one chunk, escaped as JSON, stays well under a record's limit.
_CHUNK = 16 * 1024
# How long the stage's exit waits for the tee to record what is left (a process the stage started
# may still hold the pipe open; the tee then goes on copying, and the agent ignores records after the stage's end).
_STOP_WAIT_S = 2.0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[n:]


def _tee(pipes: Dict[int, int], spool_path: str) -> None:
    """The forked process: copy each pipe to its stream and record it, until every pipe is closed."""
    # Ctrl-C and a polite kill are for the stage; the tee ends when the stage's end of the pipes closes.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    writer = RecordWriter(spool_path)
    names = {1: "stdout", 2: "stderr"}
    decoders = {fd: codecs.getincrementaldecoder("utf-8")(errors="replace") for fd in pipes}
    open_pipes = {r: fd for fd, r in pipes.items()}

    def record(fd: int, text: str) -> None:
        if text:
            writer.send({"record": "stdio", "stream": names[fd], "text": text})

    while open_pipes:
        try:
            ready, _, _ = select.select(list(open_pipes), [], [])
        except InterruptedError:
            continue
        for r in ready:
            fd = open_pipes[r]
            data = os.read(r, _CHUNK)
            if not data:
                record(fd, decoders[fd].decode(b"", final=True))
                os.close(r)
                del open_pipes[r]
                continue
            try:
                _write_all(fd, data)
            except OSError as e:
                if e.errno != errno.EPIPE:
                    raise
                # The reader went away: the stage's next write fails as it would have without the tee.
                os.close(r)
                del open_pipes[r]
            record(fd, decoders[fd].decode(data))


class StdioTee:
    """The stage process's side: its descriptors 1 and 2 on the pipes, and the end of a pipe the tee holds."""

    def __init__(self, saved: Dict[int, int], done: int):
        self._saved = saved
        # Readable (at its end) once the tee has exited: the tee holds the other end.
        self._done = done

    @classmethod
    def start(cls, spool_path: str) -> Optional["StdioTee"]:
        """Starts the tee; None where there is no fork (the output is then not captured)."""
        if not hasattr(os, "fork"):
            return None
        streams = []
        for fd in (1, 2):
            try:
                os.fstat(fd)
                streams.append(fd)
            except OSError:  # closed: nothing to capture
                pass
        if not streams:
            return None
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a closed or replaced stream
                pass
        pipes = {fd: os.pipe() for fd in streams}
        done_r, done_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for r, w in list(pipes.values()) + [(done_r, done_w)]:
                os.close(r)
                os.close(w)
            return None
        if pid == 0:
            # Forked once more and left at once, so the tee is not the stage's child: a stage that
            # waits for all its children (os.wait() until ChildProcessError) must not wait for it.
            code = 0
            try:
                if os.fork() == 0:  # the tee
                    try:
                        os.close(done_r)
                        for r, w in pipes.values():
                            os.close(w)
                        _tee({fd: r for fd, (r, _w) in pipes.items()}, spool_path)
                    except BaseException:
                        code = 1
            except BaseException:
                code = 1
            os._exit(code)
        saved = {}
        for fd, (r, w) in pipes.items():
            saved[fd] = os.dup(fd)
            os.set_inheritable(saved[fd], False)
            os.dup2(w, fd)
            os.close(w)
            os.close(r)
        os.close(done_w)
        os.set_inheritable(done_r, False)
        # The intermediate process exits right after forking the tee.
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        return cls(saved, done_r)

    def stop(self) -> None:
        """Puts descriptors 1 and 2 back and waits (briefly) for the tee to record what is left."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        for fd, saved in self._saved.items():
            os.dup2(saved, fd)
            os.close(saved)
        self._saved = {}
        deadline = time.monotonic() + _STOP_WAIT_S
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([self._done], [], [], max(0.0, deadline - time.monotonic()))
                if ready and os.read(self._done, 1) == b"":
                    break
        except (InterruptedError, OSError):
            pass
        os.close(self._done)
