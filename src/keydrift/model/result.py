"""What ``run_check`` returns and every report renders: part of the contract."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from keydrift.model.findings import Finding, RuleInfo, Severity
from keydrift.model.types import Skipped

__all__ = ["CheckResult"]


@dataclass
class CheckResult:
    """Everything a report shows: findings after baseline filtering, skipped files, counts.

    Reports never compute: everything they show is here, already decided by the model and the
    rules.
    """

    root: str
    findings: list[Finding]
    rules: Sequence[RuleInfo]
    skipped: list[Skipped] = field(default_factory=list)
    files_checked: int = 0
    environments: list[str] = field(default_factory=list)
    baselined: int = 0

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def by_rule(self) -> dict[str, int]:
        """Findings per rule id, sorted by id."""
        counts = Counter(f.rule for f in self.findings)
        return {rule: counts[rule] for rule in sorted(counts)}

    def rule(self, rule_id: str) -> RuleInfo | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None

    def summary_line(self) -> str:
        """One line for stderr, e.g.
        ``keydrift check: 2 errors, 1 warning [KD101 x2, KD302] (14 files checked)``."""
        parts = []
        for sev in Severity:
            n = self.count(sev)
            if n:
                parts.append(f"{n} {sev.value}{'s' if n != 1 else ''}")
        head = ", ".join(parts) if parts else "no findings"
        rules = self.by_rule()
        if rules:
            head += " [" + ", ".join(f"{r} x{n}" if n > 1 else r for r, n in rules.items()) + "]"
        extra = [f"{self.files_checked} file{'s' if self.files_checked != 1 else ''} checked"]
        if self.skipped:
            extra.append(f"{len(self.skipped)} skipped")
        if self.baselined:
            extra.append(f"{self.baselined} in baseline")
        return f"keydrift check: {head} ({', '.join(extra)})"
