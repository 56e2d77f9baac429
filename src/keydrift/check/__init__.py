"""The ``keydrift check`` pipeline: discover → read → link → evaluate → rules → baseline.

:func:`run_check` is the one entry point; the CLI only parses flags, calls it and renders the
result. :func:`build_model` stops after evaluation, for callers that want the model itself
(``keydrift explain`` uses it to find candidate secrets).
"""

from __future__ import annotations

from keydrift.check.build import build_model
from keydrift.check.pipeline import run_check

__all__ = ["build_model", "run_check"]
