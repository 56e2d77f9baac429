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


# The checked tree is untrusted, and so is its .git/config (and anything it includes). Command-line
# `-c` settings override every config file, so these switch off what `git ls-files` would
# otherwise run or reach on the repository's behalf:
# - core.fsmonitor: a command run on every index read (the reported attack);
# - core.hooksPath: no hook runs in ls-files today; pointing it nowhere keeps that true;
# - protocol.*.allow: a partial clone lazily fetches missing .gitignore blobs of a sparse
#   checkout, through transports (ext::, ssh with core.sshCommand, ...) the repository names;
# - safe.bareRepository: a bare repository planted in the tree (HEAD, config, objects/) is not
#   discovered; only a real .git directory or file counts;
# - core.excludesFile: an exclude file named by the repository is not read (it may be a FIFO or
#   a device); .gitignore files and .git/info/exclude still apply.
# safe.directory is left alone: a tree owned by another user stays "not a repository".
_HARDENING = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.excludesFile=",
    "core.quotepath=off",
    "safe.bareRepository=explicit",
    "protocol.allow=never",
    *(f"protocol.{name}.allow=never" for name in ("ext", "ssh", "git", "file", "http", "https")),
)
# The caller's own GIT_* variables could point git at another repository or config
# (GIT_DIR, GIT_CONFIG_PARAMETERS, GIT_CONFIG_COUNT, ...): none of them are passed on.
_ENV_OVERRIDES = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_NO_LAZY_FETCH": "1",
}


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_ENV_OVERRIDES)
    return env


def git_command(*args: str) -> list[str]:
    """``git`` with every setting above forced, for running in an untrusted tree."""
    config = [part for item in _HARDENING for part in ("-c", item)]
    return ["git", "--no-pager", *config, *args]


def _ls(root: str, *args: str) -> list[str] | None:
    try:
        proc = subprocess.run(
            git_command("ls-files", "-z", *args),
            cwd=root,
            env=_git_env(),
            stdin=subprocess.DEVNULL,
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
