"""Read part of a tree in a forked copy of this process, on the second core.

Parsing is single-threaded Python (``ast``, YAML, regular expressions all hold the GIL), so the
only way to use a second core is a second process. Starting a fresh interpreter costs more than
it saves on the trees users run us on (imports alone are ~0.1 s), and ``multiprocessing``
pickles through its own machinery, which :class:`~keydrift.secret.SecretValue` refuses on
purpose. So the read phase forks: the child already holds the configuration, the classifier and
the file list, reads its share of the files, and sends its results back through an anonymous
pipe, each as soon as it is done: the parent takes them in (:meth:`SplitRun.poll`) between its
own jobs, so neither a final dump in the child nor a final load in the parent is left to do
after the last file.

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
import math
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from keydrift.secret import SecretValue

log = logging.getLogger("keydrift.check")

__all__ = ["SplitRun", "can_fork", "shared_map"]

R = TypeVar("R")

# Waiting for the child is bounded: at least this long, or this many times what the parent
# spent on its own share, whichever is more. Past that the parent reads the child's share
# itself (same result, no hang).
_MIN_WAIT_S = 30.0
_WAIT_FACTOR = 4.0
_CHUNK = 1 << 20
_TOKEN = struct.Struct("<I")
# Results cross the pipe in frames: a length, then one pickle of [(job, result), ...]. The
# child closes a frame every _FLUSH_S (a pickle per result cost more than the results on a
# tree of many small files); the parent looks for frames at most every _POLL_S.
_FRAME = struct.Struct("<Q")
_FLUSH_S = 0.01
_POLL_S = 0.005
# The job queue must fit in one pipe buffer (written whole before the fork): 1 MiB is Linux's
# default /proc/sys/fs/pipe-max-size, 262,144 jobs.
_MAX_QUEUE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # Linux's fcntl code; the fcntl module names it only from Python 3.10
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


# Plain containers and pickle's own helpers (a compose service's settings are a ChainMap).
_SAFE_GLOBALS = frozenset({
    ("copyreg", "_reconstructor"), ("copyreg", "__newobj__"), ("collections", "ChainMap"),
})


class _ResultUnpickler(pickle.Unpickler):
    """Loads keydrift's own result types and plain containers, nothing else: the stream comes
    from our own fork, and this keeps it from ever naming another callable."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "keydrift" or module.startswith("keydrift."):
            return super().find_class(module, name)
        if (module, name) in _SAFE_GLOBALS or (
            module == "builtins" and name in _SAFE_BUILTINS
        ):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected type {module}.{name} in a read result")


class SplitRun(Generic[R]):
    """``work(i)`` for each of the ``shared`` jobs, pulled one at a time from one queue by this
    process and a forked child: whichever is free takes the next, so neither waits for the
    other however the costs fall (a Python settings module costs ten times a manifest of the
    same size). Use as ``start()``; the parent's own work; ``take()`` until ``None``, running
    each job it returns; ``collect()`` (always, even on error: it reaps the child)."""

    def __init__(
        self,
        shared: Sequence[int],
        work: Callable[[int], R],
        *,
        min_wait_s: float = _MIN_WAIT_S,
        noun: str = "files",
    ) -> None:
        self.shared = list(shared)
        self.noun = noun  # what a job is, for the debug log
        self.work = work
        self.min_wait_s = min_wait_s
        self._pid: int | None = None
        self._fd: int | None = None
        self._queue: int | None = None
        self._local = iter(self.shared)
        self._taken: list[int] = []
        self._inbox = bytearray()  # bytes from the child not yet loaded (a partial frame)
        self._got: dict[int, R] = {}  # the child's results loaded so far
        self._eof = False
        self._broken = False  # a frame failed to load: the child's share is redone here
        self._polled = 0.0
        self.forked = False

    def start(self) -> None:
        """Fork the child, which starts taking jobs at once. Without a fork (no jobs, no
        descriptors or processes left, too many jobs for one pipe), ``take()`` hands every
        job to this process."""
        if not self.shared or len(self.shared) * _TOKEN.size > _MAX_QUEUE_BYTES:
            return
        try:
            queue_r, queue_w = os.pipe()
        except OSError:
            return
        try:
            # The whole queue is written before the fork and its write end closed, so a read
            # never blocks: it gets a whole job number (pipe reads are atomic under the pipe's
            # lock, and every token is 4 bytes) or end-of-file.
            queue = b"".join(_TOKEN.pack(i) for i in self.shared)
            if len(queue) > 65536:
                import fcntl  # POSIX only: can_fork() keeps other systems out of here

                fcntl.fcntl(queue_w, _F_SETPIPE_SZ, _MAX_QUEUE_BYTES)
            os.set_blocking(queue_w, False)  # a pipe smaller than we think must not hang us
            if os.write(queue_w, queue) != len(queue):
                raise BlockingIOError
        except OSError:
            os.close(queue_r)
            return
        finally:
            os.close(queue_w)
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            os.close(queue_r)
            return
        with contextlib.suppress(OSError):
            # Room for the child's results while the parent is busy with a file of its own
            # (a smaller pipe only makes the child keep them a little longer).
            import fcntl

            fcntl.fcntl(write_fd, _F_SETPIPE_SZ, _MAX_QUEUE_BYTES)
        try:
            pid = os.fork()
        except OSError:
            for fd in (queue_r, read_fd, write_fd):
                os.close(fd)
            return
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            self._queue = queue_r
            self._child(write_fd)
        os.close(write_fd)
        self._pid, self._fd, self._queue, self.forked = pid, read_fd, queue_r, True

    def take(self) -> int | None:
        """The next job for this process, or ``None`` when the queue is empty."""
        self.poll()
        if self._queue is None:
            job = next(self._local, None)
        else:
            token = os.read(self._queue, _TOKEN.size)
            job = _TOKEN.unpack(token)[0] if len(token) == _TOKEN.size else None
        if job is not None:
            self._taken.append(job)
        return job

    def poll(self) -> None:
        """Take in whatever results the child has sent so far, without waiting. The parent
        calls this between its own jobs; :meth:`collect` gets the rest."""
        fd = self._fd
        if fd is None or self._eof:
            return
        now = time.monotonic()
        if now - self._polled < _POLL_S:
            return
        self._polled = now
        for _ in range(64):  # bounded: each read takes up to a pipe's worth
            if not _readable(fd, 0.0):
                break
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                self._eof = True
                break
            self._inbox += chunk
        self._load_frames()

    def _load_frames(self) -> None:
        inbox = self._inbox
        start = 0
        while not self._broken and len(inbox) - start >= _FRAME.size:
            (size,) = _FRAME.unpack_from(inbox, start)
            end = start + _FRAME.size + size
            if end > len(inbox):
                break
            try:
                batch = _ResultUnpickler(io.BytesIO(inbox[start + _FRAME.size:end])).load()
                self._got.update(batch)
            except Exception:  # a corrupt frame: the child's whole share is redone here
                self._broken = True
                break
            start = end
        del inbox[:start]

    def _child(self, fd: int) -> None:
        code = _CHILD_FAILED
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            # Results go out as they are done, without ever waiting for the parent to read:
            # what the pipe cannot take yet waits here, and goes out after the next job.
            os.set_blocking(fd, False)
            pending = bytearray()
            batch: list[tuple[int, R]] = []
            flushed = time.monotonic()
            for _ in range(len(self.shared)):
                job = self.take()
                if job is None:
                    break
                batch.append((job, self.work(job)))
                if time.monotonic() - flushed >= _FLUSH_S:
                    _frame(batch, pending)
                    _send(fd, pending)
                    flushed = time.monotonic()
            _frame(batch, pending)
            os.set_blocking(fd, True)
            _send(fd, pending)
            code = 0
        except BaseException:  # the parent redoes the work and reports any error itself
            code = _CHILD_FAILED
        finally:
            os._exit(code)  # no atexit handlers, no flushing the parent's buffers

    def collect(self, local_seconds: float) -> dict[int, R]:
        """The results of the jobs the child took: the child's, or computed here for every job
        nobody finished if it failed or overran. ``local_seconds`` is what this process spent
        meanwhile; the wait is bounded by a multiple of it."""
        forked = self._pid is not None
        got = self._receive(max(self.min_wait_s, _WAIT_FACTOR * local_seconds))
        if self._queue is not None:
            os.close(self._queue)
            self._queue = None
        if got is None:
            got = {}
            if forked:
                log.debug("the forked child failed or overran; doing its %s here", self.noun)
        elif forked:
            log.debug("%d %s done in a forked child", len(got), self.noun)
        mine = set(self._taken)
        for job in self.shared:
            if job not in mine and job not in got:
                got[job] = self.work(job)
        return got

    def _receive(self, wait_s: float) -> dict[int, R] | None:
        if self._pid is None or self._fd is None:
            return None
        pid, fd = self._pid, self._fd
        ok = self._eof
        try:
            deadline = time.monotonic() + wait_s
            while not ok and not self._broken:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if not _readable(fd, left):
                    break
                chunk = os.read(fd, _CHUNK)
                if not chunk:
                    ok = True
                    break
                self._inbox += chunk
                self._load_frames()
        finally:
            self._pid = self._fd = None
            os.close(fd)
            if not ok:
                _kill(pid)
            status = _reap(pid)
        self._load_frames()
        if not ok or status != 0 or self._broken or self._inbox:
            return None  # a failed child or a truncated stream: read those files here instead
        return self._got

    def abandon(self) -> None:
        """Stop and reap the child (an error in the parent's own work)."""
        if self._pid is not None:
            _kill(self._pid)
            _reap(self._pid)
        for fd in (self._fd, self._queue):
            if fd is not None:
                os.close(fd)
        self._pid = self._fd = self._queue = None


def shared_map(
    jobs: Sequence[int],
    work: Callable[[int], R],
    *,
    fork: bool,
    noun: str,
    first: Sequence[int] = (),
) -> dict[int, R]:
    """``work(i)`` for every job of ``first`` (in this process, in that order) and of
    ``jobs`` (shared with a forked child when ``fork``, which starts on them at once; see
    :class:`SplitRun`). ``noun`` says what a job is, for the debug log. The results are the
    same either way."""
    if not fork:
        return {job: work(job) for job in (*first, *jobs)}
    split: SplitRun[R] = SplitRun(jobs, work, noun=noun)
    split.start()
    out: dict[int, R] = {}
    began = time.monotonic()
    try:
        for mine in first:
            out[mine] = work(mine)
            split.poll()  # the child's results so far, while it works on
        for _ in range(len(split.shared)):
            job = split.take()
            if job is None:
                break
            out[job] = work(job)
    except BaseException:
        split.abandon()
        raise
    out.update(split.collect(time.monotonic() - began))
    return out


def _readable(fd: int, timeout_s: float) -> bool:
    """``fd`` has data or end-of-file within ``timeout_s``. ``poll`` rather than ``select``,
    which refuses descriptors numbered 1024 or more (a caller may hold that many files)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(math.ceil(timeout_s * 1000)))


def _frame(batch: list[tuple[int, Any]], pending: bytearray) -> None:
    """Append ``batch`` to ``pending`` as one frame, and empty it."""
    if not batch:
        return
    out = io.BytesIO()
    out.write(bytes(_FRAME.size))
    _ResultPickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(batch)
    with out.getbuffer() as frame:
        _FRAME.pack_into(frame, 0, len(frame) - _FRAME.size)
        pending += frame
    batch.clear()


def _send(fd: int, pending: bytearray) -> None:
    """Write what ``fd`` takes of ``pending`` and drop it from there: all of it on a blocking
    descriptor, what fits without waiting on a non-blocking one."""
    while pending:
        try:
            written = os.write(fd, memoryview(pending)[:_CHUNK])
        except BlockingIOError:
            return
        del pending[:written]


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
