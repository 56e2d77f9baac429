"""Walk the named paths, decide by name which reader owns each file, read each file once.

Cheap first: a file whose name no reader claims is never opened; a claimed file is ``stat``-ed
(size cap) before it is read, and its bytes are checked (NUL byte, reader's ``wants`` prefilter,
UTF-8, line length) before any parser runs. Hostile files become :class:`Skipped` entries with a
one-line reason, or an :class:`~keydrift.errors.InputError` when named on the command line.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field

from keydrift.errors import InputError
from keydrift.model.types import Location, Skipped
from keydrift.sources.interface import OUTSIDE_REASON, Source, UnreadableFile

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_LINE_BYTES",
    "SKIP_DIRS",
    "Candidate",
    "FileReader",
    "check_bytes",
    "discover",
]

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_LINE_BYTES = 512 * 1024
REFERENCED_MAX_BYTES = 2 * 1024 * 1024
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        ".terraform",
        ".idea",
        ".eggs",
        "site-packages",
        "bower_components",
        ".next",
        ".cache",
    }
)


@dataclass
class Candidate:
    """A file a reader claimed by name (``rel`` is relative to the root, POSIX)."""

    rel: str
    source: Source
    explicit: bool = False


@dataclass
class Walk:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    all_files: set[str] = field(default_factory=set)  # every regular file seen (for references)


def _ignore_matcher(globs: Iterable[str]) -> re.Pattern[str] | None:
    parts = []
    for glob in globs:
        g = glob.strip().lstrip("./") if glob.startswith("./") else glob.strip()
        if not g:
            continue
        if g.endswith("/"):
            g += "**"
        parts.append(fnmatch.translate(g))
        if "/" not in g.rstrip("/*"):
            parts.append(fnmatch.translate("*/" + g))  # a bare name matches at any depth
    return re.compile("|".join(parts)) if parts else None


def _owner(rel: str, sources: tuple[Source, ...]) -> Source | None:
    for source in sources:
        if source.matches(rel):
            return source
    return None


def discover(root: str, paths: list[str], sources: tuple[Source, ...], ignore: Iterable[str]) -> Walk:
    """Every claimed file under ``paths`` (absolute), relative to ``root`` (absolute)."""
    walk = Walk()
    ignored = _ignore_matcher(ignore)
    real_root = os.path.realpath(root)
    seen: set[str] = set()
    for path in paths:
        rel = _rel(root, path)
        if os.path.isdir(path):
            _walk_dir(path, rel if rel != "." else "", real_root, sources, ignored, walk, seen)
            continue
        source = _owner(rel, sources)
        walk.all_files.add(rel)
        if rel not in seen:
            seen.add(rel)
            walk.candidates.append(Candidate(rel, source or _Fallback(), explicit=True))
    return walk


def _rel(root: str, path: str) -> str:
    rel = os.path.relpath(path, root)
    return rel.replace(os.sep, "/")


def _walk_dir(
    top: str,
    top_rel: str,
    real_root: str,
    sources: tuple[Source, ...],
    ignored: re.Pattern[str] | None,
    walk: Walk,
    seen: set[str],
) -> None:
    stack = [(top, top_rel)]
    while stack:
        directory, drel = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            walk.skipped.append(Skipped(Location(drel or "."), _os_reason(exc, "directory")))
            continue
        for entry in entries:
            rel = f"{drel}/{entry.name}" if drel else entry.name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if entry.name in SKIP_DIRS or (ignored and ignored.match(rel + "/")):
                    continue
                stack.append((entry.path, rel))
                continue
            if ignored and ignored.match(rel):
                continue
            if is_link:
                target_kind = _link_kind(entry.path, real_root)
                if target_kind == "dir-loop":
                    walk.skipped.append(Skipped(Location(rel), "symlink loop, not followed"))
                    continue
                if target_kind == "dir":
                    continue  # a directory inside the tree is scanned where it really is
                if target_kind == "dir-outside":
                    continue
                source = _owner(rel, sources)
                if source is None:
                    continue
                if target_kind in ("broken", "outside", "loop", "special"):
                    reason = {
                        "special": "not a regular file",
                        "broken": "broken symlink",
                        "outside": "symlink to a file outside the scanned tree, not followed",
                        "loop": "symlink loop, not followed",
                    }[target_kind]
                    walk.skipped.append(Skipped(Location(rel), reason))
                    continue
            else:
                source = _owner(rel, sources)
                if source is not None and not _is_regular(entry):
                    # a FIFO or device: opening it could block or never end
                    walk.skipped.append(Skipped(Location(rel), "not a regular file"))
                    continue
            walk.all_files.add(rel)
            if source is not None and rel not in seen:
                seen.add(rel)
                walk.candidates.append(Candidate(rel, source))


def _is_regular(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _link_kind(path: str, real_root: str) -> str:
    try:
        info = os.stat(path)
    except OSError as exc:
        return "loop" if exc.errno == errno.ELOOP else "broken"
    target = os.path.realpath(path)
    inside = target == real_root or target.startswith(real_root + os.sep)
    if not stat.S_ISDIR(info.st_mode) and not stat.S_ISREG(info.st_mode):
        return "special"
    if stat.S_ISDIR(info.st_mode):
        here = os.path.realpath(os.path.dirname(path))
        if here == target or here.startswith(target + os.sep):
            return "dir-loop"
        return "dir" if inside else "dir-outside"
    return "file" if inside else "outside"


def _os_reason(exc: OSError, what: str) -> str:
    if isinstance(exc, PermissionError):
        return f"{what} not readable (permission denied)"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return f"{what} not readable ({exc.strerror or type(exc).__name__})"


class _Fallback(Source):
    """Owner of an explicitly named file no reader claims by name: sniffed when read."""

    kind = "unknown"

    def matches(self, path: str) -> bool:
        return False


def check_bytes(data: bytes, limit: int = MAX_FILE_BYTES) -> None:
    """Refuse what no parser should see: too large, binary, or a line too long."""
    if len(data) > limit:
        raise UnreadableFile(f"larger than {limit // (1024 * 1024)} MB")
    if b"\0" in data:
        raise UnreadableFile("binary file (NUL bytes)")
    if len(data) > MAX_LINE_BYTES and _longest_line(data) > MAX_LINE_BYTES:
        raise UnreadableFile(f"a line longer than {MAX_LINE_BYTES // 1024} KB")


def _longest_line(data: bytes, block: int = MAX_LINE_BYTES // 2) -> int:
    """The longest line of ``data`` if it exceeds ``2 * block`` bytes, else at most that.

    A line longer than ``2 * block`` covers a whole aligned block of ``block`` bytes, so only
    blocks without a newline need a look: a few hundred ``find`` calls for a 10 MB file where
    splitting it into lines made a Python object per line (0.4 s for 700,000 lines).
    """
    longest = 0
    for start in range(0, len(data), block):
        if data.find(b"\n", start, start + block) >= 0:
            continue
        begin = data.rfind(b"\n", 0, start) + 1
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        longest = max(longest, end - begin)
    return longest


class FileReader:
    """Reads files under ``root`` at most once, with the hostile-input checks, and caches the
    text of files other readers may ask for (``.env`` files, compose files)."""

    def __init__(self, root: str, roots: Iterable[str] | None = None) -> None:
        self.root = root
        # The directories named on the command line (the walk's root when none are given):
        # no file outside them is opened, whatever path or symlink leads there.
        self.real_roots = tuple(os.path.realpath(r) for r in (roots or [root]))
        self._real_dirs: dict[str, str] = {}
        self.cache: dict[str, str] = {}
        # Keyed by the size limit too: a file too large for one reader's limit may be within
        # another's, and which reader asks first must not decide whether it is read.
        self.failed: dict[tuple[str, int], UnreadableFile] = {}

    def read_bytes(self, rel: str, limit: int = MAX_FILE_BYTES) -> bytes:
        """Raise :class:`UnreadableFile` for anything a parser should not see."""
        limit = min(limit, MAX_FILE_BYTES)
        if (rel, limit) in self.failed:
            raise self.failed[(rel, limit)]
        try:
            data = self._read(rel, limit)
        except UnreadableFile as exc:
            self.failed[(rel, limit)] = exc
            raise
        return data

    def inside(self, rel: str) -> bool:
        """Whether ``rel`` (relative to the root) is inside a checked root after resolving
        every symlink on the way. A compose ``file: /etc/shadow``, an ``env_file: ../../x`` or
        ``secrets -> /home`` all resolve outside, and their content would reach the report as
        a fingerprint."""
        return self._resolved(rel) is not None

    def _resolved(self, rel: str) -> str | None:
        """The real path of ``rel`` when it is inside a checked root, else ``None``."""
        if rel == "-":
            return None
        path = os.path.join(self.root, rel)
        directory, name = os.path.split(path)
        # One realpath per directory (memoised), plus an lstat of the file: only a symlinked
        # file needs its own resolution. A tree of thousands of files in a few dozen folders
        # then costs one lstat each.
        real_dir = self._real_dirs.get(directory)
        if real_dir is None:
            real_dir = self._real_dirs[directory] = os.path.realpath(directory)
        try:
            is_link = stat.S_ISLNK(os.lstat(path).st_mode)
        except OSError:
            is_link = False  # missing: the open says so
        plain = not is_link and name not in ("", ".", "..")
        real = os.path.join(real_dir, name) if plain else os.path.realpath(path)
        for r in self.real_roots:
            if real == r or real.startswith(r.rstrip(os.sep) + os.sep):
                return real
        return None

    def _read(self, rel: str, limit: int) -> bytes:
        path = self._resolved(rel)
        if path is None:
            raise UnreadableFile(OUTSIDE_REASON)
        try:
            # O_NONBLOCK: a FIFO named on the command line must not hang the check.
            # O_NOFOLLOW: the path is already resolved; a link appearing there now is refused.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW
                         | getattr(os, "O_CLOEXEC", 0))
            with os.fdopen(fd, "rb") as fh:
                info = os.fstat(fh.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise UnreadableFile("not a regular file")
                if info.st_size > limit:
                    raise UnreadableFile(
                        f"larger than {limit // (1024 * 1024)} MB "
                        f"({info.st_size // (1024 * 1024)} MB)"
                    )
                data = fh.read(limit + 1)
        except UnreadableFile:
            raise
        except OSError as exc:
            raise UnreadableFile(_os_reason(exc, "file")) from None
        check_bytes(data, limit)
        return data

    @staticmethod
    def decode(data: bytes) -> str:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"invalid UTF-8 (byte offset {exc.start})") from None
        return text[1:] if text.startswith("\ufeff") else text

    def read_text(self, rel: str) -> str:
        """A file another reader refers to (env_file, include, secret file), at most 2 MB."""
        if rel in self.cache:
            return self.cache[rel]
        text = self.decode(self.read_bytes(rel, REFERENCED_MAX_BYTES))
        self.cache[rel] = text
        return text


def explicit_error(rel: str, exc: UnreadableFile) -> InputError:
    """The error for a file named on the command line that cannot be checked."""
    where = f"{rel}:{exc.line}" if exc.line else rel
    return InputError(
        f"cannot check this file: {exc.reason}",
        where=where,
        advice="fix the file, or leave it out of the paths to check",
    )
