"""What a report renders (:class:`CheckResult`) and the format registry.

Reports never compute: everything they show is in the result, already decided by the model and
the rules. Each format module (``text``, ``json``, ``sarif``) exposes ``render(result, *,
color=False) -> str``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from keydrift.model.types import Skipped
from keydrift.rules.interface import Finding, Rule, Severity

__all__ = ["FORMATS", "CheckResult", "render"]

FORMATS = ("text", "json", "sarif")


@dataclass
class CheckResult:
    """Everything a report shows: findings after baseline filtering, skipped files, counts."""

    root: str
    findings: list[Finding]
    rules: Sequence[Rule]
    skipped: list[Skipped] = field(default_factory=list)
    files_checked: int = 0
    environments: list[str] = field(default_factory=list)
    baselined: int = 0

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def rule(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None

    def summary_line(self) -> str:
        """One line for stderr, e.g. ``keydrift check: 2 errors, 1 warning (14 files, ...)``."""
        parts = []
        for sev in Severity:
            n = self.count(sev)
            if n:
                parts.append(f"{n} {sev.value}{'s' if n != 1 else ''}")
        head = ", ".join(parts) if parts else "no findings"
        extra = [f"{self.files_checked} file{'s' if self.files_checked != 1 else ''} checked"]
        if self.skipped:
            extra.append(f"{len(self.skipped)} skipped")
        if self.baselined:
            extra.append(f"{self.baselined} in baseline")
        return f"keydrift check: {head} ({', '.join(extra)})"


def render(result: CheckResult, fmt: str, *, color: bool = False) -> str:
    """Render ``result`` in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = importlib.import_module(f"keydrift.report.{fmt}")
    text: str = module.render(result, color=color)
    return text
