"""Git status of every file under a root, from two ``git ls-files`` calls (never one per file)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field

__all__ = ["GitStatus", "git_status"]


@dataclass
class GitStatus:
    """``status(path)``: "tracked", "ignored", "untracked", or ``None`` outside a repository."""

    is_repo: bool
    tracked: frozenset[str] = frozenset()
    ignored_files: frozenset[str] = frozenset()
    ignored_dirs: tuple[str, ...] = ()
    _cache: dict[str, str | None] = field(default_factory=dict)

    def status(self, path: str) -> str | None:
        if not self.is_repo or path == "-":
            return None
        if path in self.tracked:
            return "tracked"
        if path in self.ignored_files:
            return "ignored"
        for prefix in self.ignored_dirs:
            if path.startswith(prefix):
                return "ignored"
        return "untracked"


def _ls(root: str, *args: str) -> list[str] | None:
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", "ls-files", "-z", *args],
            cwd=root,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no git binary, or it hung: treat as "not a repository"
    if proc.returncode != 0:
        return None
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def git_status(root: str) -> GitStatus:
    """Ask git once for tracked files and once for ignored ones (ignored dirs collapsed)."""
    if not os.path.isdir(root):
        return GitStatus(is_repo=False)
    tracked = _ls(root)
    if tracked is None:
        return GitStatus(is_repo=False)
    ignored = _ls(root, "--others", "--ignored", "--exclude-standard", "--directory") or []
    dirs = tuple(p for p in ignored if p.endswith("/"))
    files = frozenset(p for p in ignored if not p.endswith("/"))
    return GitStatus(is_repo=True, tracked=frozenset(tracked), ignored_files=files, ignored_dirs=dirs)
