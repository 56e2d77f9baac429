"""Item 3: ``keydrift check`` never runs what a scanned repository's git config names.

``git ls-files`` runs ``core.fsmonitor`` on every index read. keydrift now passes
``-c core.fsmonitor=false`` and the other settings in ``keydrift.sources.git`` (hooks path,
transports for lazy fetches, bare-repository discovery, excludes file) on the command line, which
outranks every config file, including ones pulled in with ``include.path``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from keydrift.check.build import build_model
from keydrift.check.git import git_status

from .util import cli, keydrift, write_tree

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false"]


def _repo(root: Path) -> Path:
    write_tree(root, {"app.env": "JWT_SECRET=tracked-0123456789abcdefghijklmnopqrstuv\n"})
    subprocess.run([*GIT, "init", "-q", str(root)], check=True)
    subprocess.run([*GIT, "-C", str(root), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(root), "commit", "-qm", "x"], check=True)
    return root


def _hostile(root: Path, marker: Path, how: str) -> None:
    command = f"touch {marker}; false"
    if how == "config":
        subprocess.run(["git", "-C", str(root), "config", "core.fsmonitor", command], check=True)
    else:  # pulled in from a file the repository itself carries
        (root / ".git" / "extra.cfg").write_text(f"[core]\n\tfsmonitor = {command}\n")
        subprocess.run(["git", "-C", str(root), "config", "include.path", "extra.cfg"], check=True)
    # The setting is live: plain git runs it, so the test below would see the marker.
    subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, check=False)
    assert marker.exists(), "git did not honour the planted core.fsmonitor"
    marker.unlink()


@pytest.mark.parametrize("how", ["config", "include"])
def test_security_git_fsmonitor_of_scanned_repo_never_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    root = _repo(tmp_path / "repo")
    marker = tmp_path / "PWNED"
    _hostile(root, marker, how)
    status = git_status(str(root))
    assert status.is_repo and status.status("app.env") == "tracked"  # git still answers
    assert not marker.exists()
    model = build_model([str(root)])
    assert [a.tracked for a in model.assignments] == ["tracked"]
    code, out, _err = cli(capsys, "check", str(root), "--fail-on", "never")
    assert code == 0 and "KD402" in out  # the tracked .env is still found
    proc = keydrift("check", str(root), "--fail-on", "never")
    assert proc.returncode == 0
    assert not marker.exists()


def test_security_git_ignores_callers_git_environment(tmp_path: Path) -> None:
    # GIT_DIR/GIT_WORK_TREE left in the CI environment must not point keydrift at another
    # repository: the checked tree's own index says app.env is tracked (KD402).
    root = _repo(tmp_path / "repo")
    other = tmp_path / "other"
    write_tree(other, {"unrelated.txt": "x\n"})
    subprocess.run([*GIT, "init", "-q", str(other)], check=True)
    proc = keydrift("check", str(root), "--format", "json", "--fail-on", "never",
                    env={"GIT_DIR": str(other / ".git"), "GIT_WORK_TREE": str(other)})
    assert proc.returncode == 0, proc.stderr
    rules = {f["rule"] for f in json.loads(proc.stdout)["findings"]}
    assert "KD402" in rules


def test_security_a_hanging_git_is_bounded_even_when_a_helper_holds_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `git` that never answers (a wrapper or shim on PATH) and leaves a helper holding its
    output pipe: both queries together wait the timeout at most, are killed and reaped, and
    the tree counts as not a repository."""
    import os
    import time

    from keydrift.check.git import start_git_status

    root = _repo(tmp_path / "repo")  # with the real git
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text("#!/bin/sh\nsleep 20 &\nexec sleep 1000\n")
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    began = time.monotonic()
    status = start_git_status(str(root), timeout_s=1.0)()
    assert not status.is_repo
    assert time.monotonic() - began < 10  # one shared second, not one per query or forever
    children = subprocess.run(["ps", "-o", "args=", "--ppid", str(os.getpid())],
                              capture_output=True, text=True, check=False).stdout
    assert "sleep 1000" not in children  # killed and reaped
