"""Helpers for reader tests: write a small tree and build the model of it."""

from __future__ import annotations

import os
from pathlib import Path

from keydrift.check import build_model
from keydrift.model import Model
from keydrift.model.types import Assignment, Service

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "sources"


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def model_of(root: Path | str, **kwargs: object) -> Model:
    return build_model([os.fspath(root)], **kwargs)  # type: ignore[arg-type]


def text(a: Assignment | None) -> str | None:
    """The value an assignment carries (tests only: reveals the secret)."""
    if a is None or a.value is None:
        return None
    return a.value.reveal_text()


def services(model: Model, name: str) -> list[Service]:
    return [s for s in model.services if s.name == name]


def service(model: Model, name: str, environment: str | None = "*") -> Service:
    found = [s for s in services(model, name) if environment in ("*", s.environment)]
    assert len(found) == 1, [(s.name, s.environment) for s in model.services]
    return found[0]


def file_level(model: Model, variable: str) -> list[Assignment]:
    return [a for a in model.assignments if a.service is None and a.variable == variable]
