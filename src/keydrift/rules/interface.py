"""The rule interface: :class:`Severity`, :class:`Finding`, :class:`Rule` and the registry.

A rule reads a :class:`~keydrift.model.types.Model` and yields findings (the contract types of
:mod:`keydrift.model.findings`); it never reads files.
Each ``keydrift/rules/kdNNN_*.py`` module defines one :class:`Rule` subclass with its id, name,
title, default severity and docs page as class data; :func:`all_rules` discovers them, so adding a
rule needs no change anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import ClassVar, NamedTuple

from keydrift.model.findings import DOCS_BASE_URL, Finding, RuleInfo, Severity
from keydrift.model.types import Location, Model, Step

__all__ = [
    "DOCS_BASE_URL",
    "Finding",
    "Rule",
    "RuleInfo",
    "RuleJob",
    "Severity",
    "all_rules",
    "merge_findings",
    "rule_by_id",
    "rule_jobs",
    "run_rules",
]


class Rule:
    """A check over the model. Subclasses set the class data and implement :meth:`check`."""

    id: ClassVar[str]
    name: ClassVar[str]
    """Stable kebab-case name, e.g. ``missing-secret``."""
    title: ClassVar[str]
    """One line: what the rule finds."""
    default_severity: ClassVar[Severity]
    cost: ClassVar[int] = 1
    """Relative time on a large model (measured on the bench's trees: a rule that judges
    every recorded value is 3 to 5). When the rules are shared between two processes, the
    costliest start first, so that neither process is left waiting on a long rule at the end."""

    @property
    def info(self) -> RuleInfo:
        """What reports show about this rule (the description is the first line of the rule
        module's docstring)."""
        import sys

        doc = sys.modules[type(self).__module__].__doc__ or self.title
        return RuleInfo(
            id=self.id,
            name=self.name,
            title=self.title,
            default_severity=self.default_severity,
            description=doc.strip().splitlines()[0],
        )

    @property
    def docs(self) -> str:
        return self.info.docs

    @property
    def help_uri(self) -> str:
        return f"{DOCS_BASE_URL}{self.id}.md"

    def check(self, model: Model) -> Iterable[Finding]:
        raise NotImplementedError

    def finding(
        self,
        *,
        environment: str | Iterable[str] | None,
        services: Iterable[str],
        locations: Iterable[Location],
        message: str,
        runtime_effect: str,
        fix: str,
        fingerprints: Iterable[str] = (),
        variable: str | None = None,
        severity: Severity | None = None,
        steps: Iterable[Step] = (),
        unit: str | None = None,
    ) -> Finding:
        """A finding of this rule, with locations and fingerprints de-duplicated in order."""
        envs = (environment,) if isinstance(environment, str) else tuple(environment or ())
        return Finding(
            rule=self.id,
            severity=severity or self.default_severity,
            environments=tuple(sorted(set(envs))),
            services=tuple(sorted(set(services))),
            locations=tuple(dict.fromkeys(locations)),
            message=message,
            runtime_effect=runtime_effect,
            fix=fix,
            fingerprints=tuple(dict.fromkeys(fingerprints)),
            variable=variable,
            steps=tuple(dict.fromkeys(steps)),
            unit=unit,
        )

    def __repr__(self) -> str:
        return f"<Rule {self.id} {self.name}>"


@cache
def _registry() -> dict[str, Rule]:
    from keydrift._plugins import registry

    return registry("keydrift.rules", Rule, "rules", lambda p: p.id)


def all_rules() -> tuple[Rule, ...]:
    """Every rule in ``keydrift.rules``, one per module, sorted by id."""
    return tuple(_registry().values())


def rule_by_id(rule_id: str) -> Rule | None:
    return _registry().get(rule_id)


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
    return merge_findings([job.run() for job in rule_jobs(model, rules=rules, severity=severity)])


class RuleJob(NamedTuple):
    """One rule to run over one model: ``run()`` gives its findings at their configured
    severity."""

    rule: Rule
    run: Callable[[], list[Finding]]


def rule_jobs(
    model: Model,
    *,
    rules: Sequence[Rule] | None = None,
    severity: Mapping[str, str] | None = None,
) -> list[RuleJob]:
    """One job per rule to run (see :func:`run_rules`), in rule order. Jobs may run in any
    process holding ``model``; their results go to :func:`merge_findings` in this order."""
    overrides = dict(model.config.severity if severity is None else severity)
    model.memo.clear()  # the rules' caches hold for one run over the model as it is now

    def job(rule: Rule, level: str | None) -> Callable[[], list[Finding]]:
        def run() -> list[Finding]:
            found = [raw if level is None else raw.with_severity(Severity(level))
                     for raw in rule.check(model)]
            for finding in found:
                # Merging needs every id: computed (and cached) where the rule ran, so that a
                # forked child sends them along instead of leaving them to the parent.
                _ = finding.finding_id
            return found

        return run

    return [
        RuleJob(rule, job(rule, overrides.get(rule.id)))
        for rule in (all_rules() if rules is None else rules)
        if overrides.get(rule.id) != "off"
    ]


def merge_findings(per_rule: Iterable[list[Finding]]) -> list[Finding]:
    """Findings of rules run in order, sorted. Two findings with one id would be
    indistinguishable in a baseline: the first is kept."""
    out: dict[str, Finding] = {}
    for found in per_rule:
        for finding in found:
            out.setdefault(finding.finding_id, finding)
    return sorted(out.values(), key=Finding.sort_key)
