"""The model of ``keydrift check``: environments x services x specs -> effective values.

:func:`build_model` reads a tree through :mod:`keydrift.sources` and returns a
:class:`~keydrift.model.types.Model`; rules read only that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from keydrift.model.config import Config, load_config
from keydrift.model.types import (
    Assignment,
    Effective,
    Location,
    Model,
    ReaderView,
    Service,
    Skipped,
    Step,
)

__all__ = [
    "Assignment",
    "Config",
    "Effective",
    "Location",
    "Model",
    "ReaderView",
    "Service",
    "Skipped",
    "Step",
    "build_model",
    "load_config",
]


def build_model(
    paths: Sequence[str],
    *,
    config: Config | None = None,
    environment: str | None = None,
    stdin: TextIO | None = None,
) -> Model:
    """Read ``paths`` (files, directories or ``-``) and compute the model.

    Never prints. Raises :class:`~keydrift.errors.InputError` for a named path that does not
    exist or cannot be read; other unreadable files go to ``model.skipped``.
    """
    from keydrift.model.build import build_model as _build

    return _build(paths, config=config, environment=environment, stdin=stdin)
