"""Findings and what reports need to know about rules: part of the contract.

Rules produce :class:`Finding` objects; reports render them with the :class:`RuleInfo` of their
rule. Neither side imports the other: both import this module.

A finding carries fingerprints (short RFC 7638 thumbprints) and never a value. Its
:attr:`Finding.finding_id` is a stable hash of rule, environment, services, file paths and
variable, so a baseline survives edits that only move lines.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property

from keydrift.model.types import Location, Step

__all__ = ["DOCS_BASE_URL", "Finding", "RuleInfo", "Severity"]

# Where the rule pages are published; SARIF needs absolute help URIs. docs/rules/ in the
# repository holds the same pages.
DOCS_BASE_URL = "https://github.com/keydrift/keydrift/blob/main/docs/rules/"


class Severity(StrEnum):
    """How bad a finding is. ``--fail-on`` compares by :attr:`rank`."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __str__(self) -> str:
        return self.value


_RANK = {Severity.ERROR: 3, Severity.WARNING: 2, Severity.NOTE: 1}


@dataclass(frozen=True)
class RuleInfo:
    """What a report shows about a rule: id, kebab-case name, one-line title, docs."""

    id: str
    name: str
    title: str
    default_severity: Severity
    description: str

    @property
    def docs(self) -> str:
        """The rule's page in the repository."""
        return f"docs/rules/{self.id}.md"

    @property
    def help_uri(self) -> str:
        return f"{DOCS_BASE_URL}{self.id}.md"


@dataclass(frozen=True)
class Finding:
    """One problem. Text fields name variables, files and fingerprints, never values.

    ``environments`` lists every environment the finding applies to (empty: any environment);
    a finding about one value reused across environments names them all.
    """

    rule: str
    severity: Severity
    environments: tuple[str, ...]
    services: tuple[str, ...]
    locations: tuple[Location, ...]
    message: str
    runtime_effect: str
    fix: str
    fingerprints: tuple[str, ...] = ()
    variable: str | None = None
    steps: tuple[Step, ...] = field(default=(), compare=False)
    """Provenance chain (outermost first) for the report; ``locations`` are the places to fix."""
    unit: str | None = None
    """The deployment unit the finding belongs to (a compose project, an overlay...)."""

    @property
    def environment(self) -> str | None:
        """The environments as one label (``None``: any environment)."""
        return ",".join(self.environments) if self.environments else None

    def applies_to(self, environment: str) -> bool:
        return not self.environments or environment in self.environments

    @cached_property
    def finding_id(self) -> str:
        """Stable id: rule, environment, services, paths (not lines) and variable; no value.
        Computed once per finding (the grid asks for it per cell)."""
        key = {
            "rule": self.rule,
            "environment": self.environment,
            "services": sorted(self.services),
            "paths": sorted({loc.path for loc in self.locations}),
            "variable": self.variable,
        }
        blob = json.dumps(key, sort_keys=True, separators=(",", ":")).encode("utf-8")
        return hashlib.sha256(b"keydrift-finding-v1\0" + blob).hexdigest()[:20]

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    def sort_key(self) -> tuple[str, int, str, tuple[str, ...], tuple[str, ...]]:
        return (
            self.environment or "",
            -self.severity.rank,
            self.rule,
            self.services,
            tuple(str(loc) for loc in self.locations),
        )
