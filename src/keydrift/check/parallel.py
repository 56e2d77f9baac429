"""Read part of a tree in a forked copy of this process, on the second core.

Parsing is single-threaded Python (``ast``, YAML, regular expressions all hold the GIL), so the
only way to use a second core is a second process. Starting a fresh interpreter costs more than
it saves on the trees users run us on (imports alone are ~0.1 s), and ``multiprocessing``
pickles through its own machinery, which :class:`~keydrift.secret.SecretValue` refuses on
purpose. So the read phase forks: the child already holds the configuration, the classifier and
the file list, reads its share of the files, and sends its results back through an anonymous
pipe.

What crosses the pipe: the readers' results, secret values included (a result *is* the values
it found). The pipe exists only between this process and its own fork, which already holds a
copy of everything this process holds; nothing is written to disk, to a socket or to an
inheritable descriptor, and no other process can open an anonymous pipe. The ordinary
``pickle`` path still refuses a ``SecretValue``: only :class:`_ResultPickler` knows how to send
one, and only :class:`_ResultUnpickler` (which loads keydrift's own types and nothing else)
reads it back.

Anything unexpected (no ``fork``, other threads running, the child failing or taking far longer
than the parent) falls back to reading everything here: the result is the same either way, only
slower.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from keydrift.secret import SecretValue

log = logging.getLogger("keydrift.check")

__all__ = ["SplitRun", "can_fork"]

R = TypeVar("R")

# Waiting for the child is bounded: at least this long, or this many times what the parent
# spent on its own share, whichever is more. Past that the parent reads the child's share
# itself (same result, no hang).
_MIN_WAIT_S = 30.0
_WAIT_FACTOR = 4.0
_CHUNK = 1 << 20
_CHILD_FAILED = 70  # EX_SOFTWARE


def can_fork() -> bool:
    """A fork is safe and useful: Linux, a second CPU for us, and no other thread running (a
    thread holding a lock at fork time would leave the child deadlocked)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return cpus >= 2 and threading.active_count() == 1


class _ResultPickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is SecretValue:
            return SecretValue, (obj.reveal(),)
        return NotImplemented


_SAFE_BUILTINS = frozenset({"set", "frozenset", "tuple", "list", "dict", "bytes", "bytearray",
                            "object", "getattr"})


class _ResultUnpickler(pickle.Unpickler):
    """Loads keydrift's own result types and plain containers, nothing else: the stream comes
    from our own fork, and this keeps it from ever naming another callable."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "keydrift" or module.startswith("keydrift."):
            return super().find_class(module, name)
        if (module, name) in (("copyreg", "_reconstructor"), ("copyreg", "__newobj__")) or (
            module == "builtins" and name in _SAFE_BUILTINS
        ):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected type {module}.{name} in a read result")


class SplitRun(Generic[R]):
    """``work(i)`` for every job, the ``remote`` ones in a forked child while this process does
    the rest. Use as ``start()``, then local work, then ``collect()`` (always, even on error:
    it reaps the child)."""

    def __init__(
        self, remote: Sequence[int], work: Callable[[int], R], *, min_wait_s: float = _MIN_WAIT_S
    ) -> None:
        self.remote = list(remote)
        self.work = work
        self.min_wait_s = min_wait_s
        self._pid: int | None = None
        self._fd: int | None = None
        self.forked = False

    def start(self) -> None:
        if not self.remote:
            return
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            return  # out of descriptors: read everything here
        try:
            pid = os.fork()
        except OSError:  # out of processes or memory: read everything here
            os.close(read_fd)
            os.close(write_fd)
            return
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            self._child(write_fd)
        os.close(write_fd)
        self._pid, self._fd, self.forked = pid, read_fd, True

    def _child(self, fd: int) -> None:
        code = _CHILD_FAILED
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            out = io.BytesIO()
            _ResultPickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(
                [(i, self.work(i)) for i in self.remote]
            )
            view = memoryview(out.getbuffer())
            while view:
                written = os.write(fd, view[:_CHUNK])
                view = view[written:]
            code = 0
        except BaseException:  # the parent redoes the work and reports any error itself
            code = _CHILD_FAILED
        finally:
            os._exit(code)  # no atexit handlers, no flushing the parent's buffers

    def collect(self, local_seconds: float) -> dict[int, R]:
        """The remote jobs' results: the child's, or computed here if it failed or overran."""
        forked = self._pid is not None
        got = self._receive(max(self.min_wait_s, _WAIT_FACTOR * local_seconds))
        if got is None:
            if forked:
                log.debug("the forked reader failed or overran; reading its %d files here",
                          len(self.remote))
            return {i: self.work(i) for i in self.remote}
        log.debug("read %d files in a forked child", len(got))
        return got

    def _receive(self, wait_s: float) -> dict[int, R] | None:
        if self._pid is None or self._fd is None:
            return None
        pid, fd = self._pid, self._fd
        self._pid = self._fd = None
        chunks: list[bytes] = []
        ok = False
        try:
            deadline = time.monotonic() + wait_s
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready, _, _ = select.select([fd], [], [], left)
                if not ready:
                    break
                chunk = os.read(fd, _CHUNK)
                if not chunk:
                    ok = True
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
            if not ok:
                _kill(pid)
            status = _reap(pid)
        if not ok or status != 0:
            return None
        try:
            loaded = _ResultUnpickler(io.BytesIO(b"".join(chunks))).load()
        except Exception:  # a truncated stream: read those files here instead
            return None
        return dict(loaded)

    def abandon(self) -> None:
        """Stop and reap the child (an error in the parent's own share)."""
        if self._pid is not None:
            _kill(self._pid)
            _reap(self._pid)
        if self._fd is not None:
            os.close(self._fd)
        self._pid = self._fd = None


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reap(pid: int) -> int:
    """The child's exit code (-1 for a signal). Bounded: after the pipe closed or a SIGKILL,
    the child is gone or going."""
    for _ in range(1000):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return -1
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.005)
    _kill(pid)
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return -1
    return -1
