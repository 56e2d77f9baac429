"""Git status from two `git ls-files` calls, against real repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

from keydrift.check.git import git_status

from .util import model_of, write_tree


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root, check=True, capture_output=True,
    )


def test_tracked_ignored_untracked(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        ".gitignore": ".env\nsecrets/\n",
        "staging.env": "JWT_SECRET=tracked-0123456789abcdefghijklmnopq\n",
        ".env": "JWT_SECRET=ignored-0123456789abcdefghijklmnopq\n",
        "secrets/prod.env": "JWT_SECRET=ignored-dir-0123456789abcdefghijklm\n",
        "new.env": "JWT_SECRET=untracked-0123456789abcdefghijklmno\n",
    })
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".gitignore", "staging.env")
    _git(tmp_path, "commit", "-q", "-m", "init")
    model = model_of(tmp_path)
    status = {a.location.path: a.tracked for a in model.assignments}
    assert status == {
        "staging.env": "tracked",
        ".env": "ignored",
        "secrets/prod.env": "ignored",
        "new.env": "untracked",
    }


def test_subdirectory_of_a_repository(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/deploy/staging.env": "JWT_SECRET=x-0123456789abcdefghijklmnopqr\n"})
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "init")
    model = model_of(tmp_path / "app")
    (assignment,) = model.assignments
    assert assignment.location.path == "deploy/staging.env"
    assert assignment.tracked == "tracked"


def test_not_a_repository(tmp_path: Path) -> None:
    write_tree(tmp_path, {".env": "JWT_SECRET=x-0123456789abcdefghijklmnopqr\n"})
    assert not git_status(str(tmp_path)).is_repo
    (assignment,) = model_of(tmp_path).assignments
    assert assignment.tracked is None


def _git_children() -> list[int]:
    """Our child processes that are git (running or not yet reaped)."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == os.getpid() and name == "git":
            found.append(int(entry))
    return found


def test_git_runs_beside_the_imports_and_is_reaped_when_the_check_fails(tmp_path: Path) -> None:
    """Both queries start before the readers are imported and run side by side; when the check
    stops early (an unreadable config), they are still waited for: no git is left running or
    unreaped."""
    import pytest

    from keydrift.check import build_model
    from keydrift.check.git import start_git_status
    from keydrift.errors import KeydriftError

    write_tree(tmp_path, {"keydrift.toml": "this is [not toml\n", ".env": "JWT_SECRET=x\n"})
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".env")
    _git(tmp_path, "commit", "-q", "-m", "init")
    answer = start_git_status(str(tmp_path))
    running = _git_children()
    assert len(running) == 2  # both ls-files, at once
    status = answer()
    assert status.status(".env") == "tracked" and status.status("keydrift.toml") == "untracked"
    assert _git_children() == []
    with pytest.raises(KeydriftError):
        build_model([str(tmp_path)])  # reads the config after starting git
    assert _git_children() == []
