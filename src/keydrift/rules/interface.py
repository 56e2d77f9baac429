"""The rule interface: :class:`Severity`, :class:`Finding`, :class:`Rule` and the registry.

A rule reads a :class:`~keydrift.model.types.Model` and yields findings; it never reads files.
Each ``keydrift/rules/kdNNN_*.py`` module defines one :class:`Rule` subclass with its id, name,
title, default severity and docs page as class data; :func:`all_rules` discovers them, so adding a
rule needs no change anywhere else.

A finding carries fingerprints (short RFC 7638 thumbprints) and never a value. Its
:attr:`Finding.finding_id` is a stable hash of rule, environment, services, file paths and
variable, so a baseline survives edits that only move lines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from typing import ClassVar

from keydrift.model.types import Location, Model, Step

__all__ = [
    "DOCS_BASE_URL",
    "Finding",
    "Rule",
    "Severity",
    "all_rules",
    "rule_by_id",
    "run_rules",
]

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
        return {"error": 3, "warning": 2, "note": 1}[self.value]

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Finding:
    """One problem. Text fields name variables, files and fingerprints, never values."""

    rule: str
    severity: Severity
    environment: str | None
    services: tuple[str, ...]
    locations: tuple[Location, ...]
    message: str
    runtime_effect: str
    fix: str
    fingerprints: tuple[str, ...] = ()
    variable: str | None = None
    steps: tuple[Step, ...] = field(default=(), compare=False)
    """Provenance chain (outermost first) for the report; ``locations`` are the places to fix."""

    @property
    def finding_id(self) -> str:
        """Stable id: rule, environment, services, paths (not lines) and variable; no value."""
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


class Rule:
    """A check over the model. Subclasses set the class data and implement :meth:`check`."""

    id: ClassVar[str]
    name: ClassVar[str]
    """Stable kebab-case name, e.g. ``missing-secret``."""
    title: ClassVar[str]
    """One line: what the rule finds."""
    default_severity: ClassVar[Severity]

    @property
    def docs(self) -> str:
        """The rule's page in the repository."""
        return f"docs/rules/{self.id}.md"

    @property
    def description(self) -> str:
        """The first line of the rule module's docstring (what it finds)."""
        import sys

        doc = sys.modules[type(self).__module__].__doc__ or self.title
        return doc.strip().splitlines()[0]

    @property
    def help_uri(self) -> str:
        return f"{DOCS_BASE_URL}{self.id}.md"

    def check(self, model: Model) -> Iterable[Finding]:
        raise NotImplementedError

    def finding(
        self,
        *,
        environment: str | None,
        services: Iterable[str],
        locations: Iterable[Location],
        message: str,
        runtime_effect: str,
        fix: str,
        fingerprints: Iterable[str] = (),
        variable: str | None = None,
        severity: Severity | None = None,
        steps: Iterable[Step] = (),
    ) -> Finding:
        """A finding of this rule, with locations and fingerprints de-duplicated in order."""
        return Finding(
            rule=self.id,
            severity=severity or self.default_severity,
            environment=environment,
            services=tuple(sorted(set(services))),
            locations=tuple(dict.fromkeys(locations)),
            message=message,
            runtime_effect=runtime_effect,
            fix=fix,
            fingerprints=tuple(dict.fromkeys(fingerprints)),
            variable=variable,
            steps=tuple(dict.fromkeys(steps)),
        )

    def __repr__(self) -> str:
        return f"<Rule {self.id} {self.name}>"


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule in ``keydrift.rules``, one per module, sorted by id."""
    from keydrift._plugins import discover

    found: dict[str, Rule] = {}
    for rule in discover("keydrift.rules", Rule):
        if rule.id in found:
            raise RuntimeError(f"two rules with id {rule.id!r}")
        found[rule.id] = rule
    return tuple(found[k] for k in sorted(found))

def rule_by_id(rule_id: str) -> Rule | None:
    for rule in all_rules():
        if rule.id == rule_id:
            return rule
    return None


def run_rules(
    model: Model,
    *,
    rules: Sequence[Rule] | None = None,
    severity: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Run ``rules`` (default: all) over ``model`` and return sorted, de-duplicated findings.

    ``severity`` maps rule ids to ``error``/``warning``/``note``/``off`` and defaults to the
    model's configuration; ``off`` disables a rule.
    """
    overrides = dict(model.config.severity if severity is None else severity)
    out: dict[str, Finding] = {}
    for rule in all_rules() if rules is None else rules:
        level = overrides.get(rule.id)
        if level == "off":
            continue
        for raw in rule.check(model):
            found = raw if level is None else raw.with_severity(Severity(level))
            # Two findings with one id would be indistinguishable in a baseline; keep the first.
            out.setdefault(found.finding_id, found)
    return sorted(out.values(), key=Finding.sort_key)
