"""What ``run_check`` returns and every report renders: part of the contract."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from keydrift.model.findings import Finding, RuleInfo, Severity
from keydrift.model.types import Location, Model, Skipped, Step

__all__ = ["CheckResult", "GridCell", "Marker", "SecretGroup", "Suppressed"]


class Marker(StrEnum):
    """What a grid cell's secret is, beside its fingerprint."""

    OK = "ok"
    MISSING = "missing"
    """No variable of the spec set (or set to an empty string)."""
    GENERATED = "generated"
    """Unset, and the application generates its own key in each process."""
    PLACEHOLDER = "placeholder"
    WEAK = "weak"
    """Short, low-entropy or on a known-weak list: no fingerprint is shown for it."""
    UNRESOLVED = "unresolved"
    """Set from a reference the checked files do not resolve (``${VAR}`` left to the shell)."""


@dataclass(frozen=True)
class GridCell:
    """One service in one environment of a :class:`SecretGroup`.

    ``key`` is a letter (A, B, C...) per distinct value in the whole result, so equal keys are
    seen to be equal without a colour; ``label`` is the short fingerprint, ``None`` for a weak value
    (whose fingerprint would let anyone recover it) or when nothing is set.
    """

    service: str
    environment: str | None
    marker: Marker
    key: str | None
    label: str | None
    variable: str | None
    steps: tuple[Step, ...] = ()
    """Provenance (outermost first): where the service gets the value, down to the literal."""
    findings: tuple[str, ...] = ()
    """Ids of the findings about this cell."""
    processes: int = 1
    """How many processes run this service (replicas x workers): each generates its own key
    when the marker is ``generated``."""


@dataclass(frozen=True)
class SecretGroup:
    """One secret of one deployment unit, as a grid of environments x services."""

    unit: str
    label: str
    """The spec (``jwt``) or origin (``${SHARED_KEY}``) the services' values come from."""
    kind: str
    """``spec`` or ``origin``."""
    environments: tuple[str | None, ...]
    services: tuple[str, ...]
    cells: tuple[GridCell, ...]

    def rows(self) -> list[tuple[str | None, list[GridCell | None]]]:
        """One row per environment, one column per service (``None``: the service does not
        run in that environment)."""
        index = {(c.environment, c.service): c for c in self.cells}
        return [(env, [index.get((env, s)) for s in self.services]) for env in self.environments]

    @property
    def keys(self) -> tuple[str, ...]:
        """The distinct key letters used, in order."""
        return tuple(sorted({c.key for c in self.cells if c.key}, key=lambda k: (len(k), k)))


@dataclass(frozen=True)
class Suppressed:
    """A finding an inline ``keydrift: ignore`` comment silenced: kept, counted and listed."""

    finding: Finding
    comment: Location


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
    groups: list[SecretGroup] = field(default_factory=list)
    """The drift grid: one group per unit x secret, computed by the pipeline."""
    suppressed: list[Suppressed] = field(default_factory=list)
    model: Model | None = field(default=None, repr=False, compare=False)
    """The model the findings come from (services, units, every recorded value), for callers
    that want more than the report; ``None`` for a result built by hand. Freeing it is most of
    what a check leaves to do, so a CLI that exits right after the report never pays for it."""

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
        if self.suppressed:
            extra.append(f"{len(self.suppressed)} suppressed inline")
        return f"keydrift check: {head} ({', '.join(extra)})"
