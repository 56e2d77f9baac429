"""The format registry: each format module renders a :class:`~keydrift.model.result.CheckResult`.

Reports never compute: everything they show is in the result, already decided by the model and
the rules. Each format module (``text``, ``json``, ``sarif``, ``html``) exposes ``render(result, *,
color=False) -> str`` and imports only the contract (:mod:`keydrift.model`).
"""

from __future__ import annotations

import importlib

from keydrift.model.result import CheckResult

__all__ = ["FORMATS", "CheckResult", "render"]

FORMATS = ("text", "json", "sarif", "html")


def render(result: CheckResult, fmt: str, *, color: bool = False) -> str:
    """Render ``result`` in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = importlib.import_module(f"keydrift.report.{fmt}")
    text: str = module.render(result, color=color)
    return text
