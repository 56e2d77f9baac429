"""Small deployment trees for the pipeline tests: written files, a real git repository, and the
findings of a real ``run_check``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from keydrift.check import run_check
from keydrift.model.findings import Finding

from ..sources.util import write_tree

GIT = ["git", "-c", "user.email=kd@example.invalid", "-c", "user.name=t", "-c",
       "commit.gpgsign=false", "-c", "init.defaultBranch=main", "-c", "core.hooksPath=/dev/null"]


def tree(root: Path, files: dict[str, str], *, tracked: bool = True) -> Path:
    """Write ``files`` under ``root``; commit them to a fresh git repository when ``tracked``."""
    write_tree(root, dict(files))
    if tracked:
        subprocess.run([*GIT, "init", "-q", str(root)], check=True)
        subprocess.run([*GIT, "-C", str(root), "add", "-A"], check=True)
        subprocess.run([*GIT, "-C", str(root), "commit", "-qm", "deploy"], check=True)
    return root


def findings(root: Path, *paths: str, **kwargs: object) -> list[Finding]:
    targets = [str(root / p) for p in paths] if paths else [str(root)]
    return run_check(targets, **kwargs).findings  # type: ignore[arg-type]


def rules(found: list[Finding]) -> list[str]:
    return sorted(f.rule for f in found)


def only(found: list[Finding], rule: str) -> Finding:
    matching = [f for f in found if f.rule == rule]
    assert len(matching) == 1, [(f.rule, f.message) for f in found]
    return matching[0]
