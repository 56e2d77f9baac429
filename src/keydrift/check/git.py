"""Git status of every file under a root, from two ``git ls-files`` calls (never one per file)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["GitStatus", "git_status", "start_git_status"]


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


# Both queries together are bounded: a git that hangs (a FIFO in the tree, a lock) is killed,
# and the tree is then checked as if it were not a repository.
_TIMEOUT_S = 60.0


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_ENV_OVERRIDES)
    return env


def git_command(*args: str) -> list[str]:
    """``git`` with every setting above forced, for running in an untrusted tree."""
    config = [part for item in _HARDENING for part in ("-c", item)]
    return ["git", "--no-pager", *config, *args]


class _Ls:
    """``git ls-files -z ARGS`` in ``root``, running in the background until :meth:`result`."""

    def __init__(self, root: str, *args: str) -> None:
        try:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                git_command("ls-files", "-z", *args),
                cwd=root,
                env=_git_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except (OSError, subprocess.SubprocessError):
            self.proc = None  # no git binary: "not a repository"

    def result(self, deadline: float) -> list[str] | None:
        """Its output, waiting until ``deadline`` (``time.monotonic()``) at most; ``None``
        when it failed or hung (then it is killed)."""
        proc = self.proc
        if proc is None:
            return None
        try:
            out, _ = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.stop()  # it hung: "not a repository"
            return None
        if proc.returncode != 0:
            return None
        return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]

    def stop(self) -> None:
        """Kill it if it still runs, reap it and close its pipes. Not ``communicate()``: a
        process it started may hold the pipes open for as long as it likes."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()  # bounded: it is killed
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def start_git_status(root: str, *, timeout_s: float = _TIMEOUT_S) -> Callable[[], GitStatus]:
    """Start asking git (see :func:`git_status`); the returned function waits for the
    answer, ``timeout_s`` at most for both queries together. They run while the caller does
    other work (a check imports its readers meanwhile): each is a process of a few
    milliseconds."""
    if not os.path.isdir(root):
        return lambda: GitStatus(is_repo=False)
    tracked_ls = _Ls(root)
    ignored_ls = _Ls(root, "--others", "--ignored", "--exclude-standard", "--directory")

    def finish() -> GitStatus:
        deadline = time.monotonic() + timeout_s
        try:
            tracked = tracked_ls.result(deadline)
            if tracked is None:
                return GitStatus(is_repo=False)
            ignored = ignored_ls.result(deadline) or []
        finally:
            # Whatever happened (not a repository, a hang, an interrupt), neither is left
            # running or unreaped.
            tracked_ls.stop()
            ignored_ls.stop()
        dirs = tuple(p for p in ignored if p.endswith("/"))
        files = frozenset(p for p in ignored if not p.endswith("/"))
        return GitStatus(is_repo=True, tracked=frozenset(tracked), ignored_files=files,
                         ignored_dirs=dirs)

    return finish


def git_status(root: str) -> GitStatus:
    """Ask git once for tracked files and once for ignored ones (ignored dirs collapsed)."""
    return start_git_status(root)()
