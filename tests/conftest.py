"""Shared fixtures. A canary secret that must never appear in any output."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Timing deadlines make property tests flaky on a loaded 2-core CI machine; the fuzz targets in
# bench/ measure speed instead.
settings.register_profile("keydrift", deadline=None)
settings.load_profile("keydrift")

# Unique per run so a hard-coded expectation cannot pass by accident.
CANARY = "kdcanary-" + secrets.token_urlsafe(40)


@pytest.fixture
def canary() -> str:
    return CANARY


@pytest.fixture
def strong_secret() -> str:
    return secrets.token_urlsafe(48)


def untracked_copy(src: os.PathLike[str] | str, tmp_path: os.PathLike[str] | str) -> Path:
    """A copy of fixture directory ``src`` outside any git repository.

    Fixtures live inside keydrift's own repository, where git reports them as tracked: KD401 and
    KD402 would then fire on every fixture holding a secret-like literal. Tests that are not about
    git run on a copy so the enclosing repository cannot change their outcome.
    """
    source = Path(src)
    dest = Path(tmp_path) / "untracked" / source.name
    shutil.copytree(source, dest)
    return dest
