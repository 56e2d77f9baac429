"""Reports of ``keydrift check``: text, JSON and SARIF; see :mod:`keydrift.report.interface`."""

from __future__ import annotations

from keydrift.report.interface import FORMATS, CheckResult, render

__all__ = ["FORMATS", "CheckResult", "render"]
