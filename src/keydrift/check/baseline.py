"""Baselines: findings a team has accepted, keyed by finding id (never by a value).

A baseline is a small JSON file::

    {"keydrift_baseline": 1, "findings": [{"id": "...", "rule": "KD303", "environment": ...,
      "services": [...], "paths": [...]}]}

Only ``id`` matters for filtering; the other fields are there so a reviewer can see what was
accepted. Regular files are written atomically (temporary file + ``os.replace``), so an
interrupted run never leaves half a baseline behind; see :func:`write_atomic` for what happens
with FIFOs, devices and links.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any

from keydrift.errors import InputError
from keydrift.model.findings import Finding

__all__ = [
    "BASELINE_VERSION",
    "apply_baseline",
    "baseline_text",
    "load_baseline",
    "write_atomic",
    "write_baseline",
]

BASELINE_VERSION = 1
MAX_BASELINE_BYTES = 32 * 1024 * 1024
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def load_baseline(path: str) -> frozenset[str]:
    """The finding ids accepted in ``path``; :class:`InputError` when it is unreadable."""
    try:
        # Non-blocking, regular files only: a FIFO named as the baseline must not hang the check.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _O_CLOEXEC)
    except FileNotFoundError:
        raise InputError(
            f"baseline {path} does not exist",
            advice="create one with `keydrift check --write-baseline FILE`",
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read baseline {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise InputError(f"baseline {path} is not a regular file, not read",
                             advice="name the baseline file itself")
        try:
            raw = fh.read(MAX_BASELINE_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read baseline {path}: {exc.strerror}") from None
    if len(raw) > MAX_BASELINE_BYTES:
        raise InputError(f"baseline {path} is larger than 32 MB", where=path)
    problem = None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problem = f"baseline is not UTF-8 (byte {exc.start})"
    except json.JSONDecodeError as exc:
        problem = f"baseline is not JSON (line {exc.lineno})"
    except RecursionError:
        problem = "baseline is nested too deeply"
    if problem is not None:
        # Raised outside the handler, so the error does not keep the file's text.
        raise InputError(problem, where=path,
                         advice="regenerate it with `keydrift check --write-baseline FILE`")
    if (
        not isinstance(data, dict)
        or data.get("keydrift_baseline") != BASELINE_VERSION
        or not isinstance(data.get("findings"), list)
    ):
        raise InputError(
            "not a keydrift baseline (version 1)",
            where=path,
            advice="regenerate it with `keydrift check --write-baseline FILE`",
        )
    ids: set[str] = set()
    for item in data["findings"]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise InputError("a baseline entry has no string id", where=path)
        ids.add(item["id"])
    return frozenset(ids)


def apply_baseline(
    findings: Sequence[Finding], accepted: frozenset[str]
) -> tuple[list[Finding], int]:
    """Findings not in ``accepted``, and how many were filtered out."""
    kept = [f for f in findings if f.finding_id not in accepted]
    return kept, len(findings) - len(kept)


def baseline_document(findings: Iterable[Finding]) -> dict[str, Any]:
    entries = {
        f.finding_id: {
            "id": f.finding_id,
            "rule": f.rule,
            "environment": f.environment,
            "services": list(f.services),
            "variable": f.variable,
            "paths": sorted({loc.path for loc in f.locations}),
        }
        for f in findings
    }
    return {
        "keydrift_baseline": BASELINE_VERSION,
        "findings": [entries[k] for k in sorted(entries)],
    }


def baseline_text(findings: Iterable[Finding]) -> tuple[str, int]:
    """The baseline file accepting ``findings``, and how many entries it holds."""
    doc = baseline_document(findings)
    return json.dumps(doc, indent=2) + "\n", len(doc["findings"])


def write_baseline(path: str, findings: Iterable[Finding]) -> int:
    """Write a baseline accepting ``findings``; return how many entries it holds."""
    text, count = baseline_text(findings)
    write_atomic(path, text)
    return count


# Names of descriptors this process already holds (`-o /dev/stdout`, bash's `-o >(cmd)`):
# written through that descriptor, never opened or replaced.
_OWN_FD = re.compile(r"^/(?:dev|proc/self)/fd/(\d+)$")
_STD_NAMES = {"/dev/stdout": 1, "/dev/stderr": 2}


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path``; atomic replace only where replacing is what writing means.

    - no file there yet, or a regular file: a temporary file in the same directory, fsync, then
      ``os.replace`` (an interrupted run never leaves half a report; an existing file's mode is
      kept);
    - a FIFO: written through, opened non-blocking (no reader: refused at once, never a hang);
    - the null device or a terminal: written through;
    - ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``: written to that descriptor;
    - anything else (a symbolic link, another device, a socket, a directory): refused with
      :class:`InputError` (exit 2). keydrift runs as root on untrusted trees: replacing a device
      node or following a planted link would write where nobody asked it to.

    ``-`` (stdout) is the CLI's business and never reaches here.
    """
    own_fd = _STD_NAMES.get(path)
    if own_fd is None and (match := _OWN_FD.match(path)):
        own_fd = int(match.group(1))
    if own_fd is not None:
        _write_fd(path, own_fd, text)
        return
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    if info is None or stat.S_ISREG(info.st_mode):
        _replace(path, text)
        return
    if stat.S_ISFIFO(info.st_mode) or (stat.S_ISCHR(info.st_mode) and _null_or_tty(info)):
        _write_through(path, info, text)
        return
    raise InputError(
        f"cannot write {path}: it is {_kind(info.st_mode)}, not a regular file (refused)",
        advice="name a regular file or a new path (or - for stdout); keydrift neither follows "
        "links nor replaces device nodes it is asked to write to",
    )


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _null_or_tty(info: os.stat_result) -> bool:
    try:
        if info.st_rdev == os.stat(os.devnull).st_rdev:
            return True
    except OSError:
        pass
    # Terminals: the pseudo-terminal slaves (major 136-143) and virtual consoles (major 4, 5).
    return os.major(info.st_rdev) in (4, 5, *range(136, 144))


def _write_through(path: str, expected: os.stat_result, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | _O_CLOEXEC)
    except OSError as exc:
        reason = "the FIFO has no reader" if exc.errno == errno.ENXIO else exc.strerror
        raise InputError(f"cannot write {path}: {reason}",
                         advice="start the reader first, or write to a regular file") from None
    try:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (expected.st_dev, expected.st_ino):
            raise InputError(f"cannot write {path}: it changed while it was opened (refused)")
        os.set_blocking(fd, True)
        _write_all(fd, text.encode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
    finally:
        os.close(fd)


def _write_fd(path: str, fd: int, text: str) -> None:
    import sys

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        _write_all(fd, text.encode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _replace(path: str, text: str) -> None:
    """Temporary file in the same directory, fsync, ``os.replace``."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".keydrift-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(
            f"cannot write {path}: {exc.strerror}", advice="check that the directory exists"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise InputError(
                f"cannot write {path}: {exc.strerror or type(exc).__name__}",
                advice="name a writable file, not a directory",
            ) from None
        raise


def _mode_for(path: str) -> int:
    """Keep an existing file's mode; otherwise what ``open()`` would give (0666 minus umask).

    ``mkstemp`` creates 0600 files, which would surprise whoever reads the report next.
    """
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
