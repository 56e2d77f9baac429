""":func:`run_check`: the whole static check as a library call (never prints, never exits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from keydrift.check.baseline import apply_baseline, load_baseline
from keydrift.check.build import build_model, no_cyclic_gc
from keydrift.check.grid import build_grid
from keydrift.check.parallel import can_fork, shared_map
from keydrift.check.suppress import UNUSED_SUPPRESSION, apply_suppressions, find_directives
from keydrift.errors import UsageError
from keydrift.model.config import Config, load_config
from keydrift.model.findings import Finding
from keydrift.model.result import CheckResult, Suppressed
from keydrift.model.types import Model
from keydrift.rules.interface import all_rules, merge_findings, rule_jobs
from keydrift.spec import SecretSpec, normalize_environment

__all__ = ["run_check"]


def run_check(
    paths: Sequence[str] = (".",),
    *,
    config: Config | str | None = None,
    environments: Sequence[str] | None = None,
    baseline: str | frozenset[str] | None = None,
    stdin: TextIO | None = None,
    inline_ignore: bool = True,
    jobs: int | None = None,
) -> CheckResult:
    """Check ``paths`` (files, directories, or ``-`` for ``stdin``) and return the findings.

    ``config`` is a loaded :class:`Config`, a path to ``keydrift.toml``/``pyproject.toml``, or
    ``None`` to look for one in the first path. ``environments`` keeps only findings that apply
    to one of them (a finding for any environment always applies); naming an environment the
    tree does not have is a :class:`~keydrift.errors.UsageError`, since checking nothing must
    not pass CI. ``baseline`` is a baseline file or a set of accepted finding ids; accepted
    findings are counted in ``CheckResult.baselined`` and left out. ``inline_ignore`` honours
    ``# keydrift: ignore[KD401]`` comments (findings they silence go to
    ``CheckResult.suppressed``; comments silencing nothing become KD901 notes); ``False`` shows
    every finding, for audits. ``jobs=1`` does all the work in this process; by default a large
    tree is read, and its rules run, partly by a forked child on a second core (same result;
    see :mod:`keydrift.check.parallel`).
    """
    if jobs is not None and jobs < 1:
        raise UsageError(f"jobs must be 1 or more, not {jobs}")
    with no_cyclic_gc():  # for the rules too, not only while the model is built
        return _check(paths, config=config, environments=environments, baseline=baseline,
                      stdin=stdin, inline_ignore=inline_ignore, jobs=jobs)


def _check(
    paths: Sequence[str],
    *,
    config: Config | str | None,
    environments: Sequence[str] | None,
    baseline: str | frozenset[str] | None,
    stdin: TextIO | None,
    inline_ignore: bool,
    jobs: int | None,
) -> CheckResult:
    targets = list(paths) or ["."]
    if targets.count("-") > 1:
        raise UsageError("stdin (-) can be named only once")
    wanted = [normalize_environment(SecretSpec.validate_environment(e)) for e in environments or ()]
    if not isinstance(config, Config):
        first = next((p for p in targets if p != "-"), ".")
        config = load_config(first, config)
    only = wanted[0] if len(wanted) == 1 else None
    model = build_model(targets, config=config, environment=only, stdin=stdin, jobs=jobs)

    findings = _run_rules(model, jobs)
    suppressed: list[Suppressed] = []
    if inline_ignore:
        # A check narrowed to some environments cannot tell a stale comment from one about
        # another environment: unused comments are reported only by a whole check.
        directives = find_directives(
            model.root, [f for f in model.files if f not in model.unmarked])
        findings, suppressed = apply_suppressions(findings, directives, report_unused=not wanted)
    if wanted:
        findings = [f for f in findings if any(f.applies_to(e) for e in wanted)]
        suppressed = [s for s in suppressed if any(s.finding.applies_to(e) for e in wanted)]

    baselined = 0
    if baseline is not None:
        accepted = load_baseline(baseline) if isinstance(baseline, str) else baseline
        findings, baselined = apply_baseline(findings, accepted)

    return CheckResult(
        root=model.root,
        findings=findings,
        rules=[*(rule.info for rule in all_rules()), UNUSED_SUPPRESSION],
        skipped=list(model.skipped),
        files_checked=len(model.files),
        environments=list(model.environments),
        baselined=baselined,
        groups=build_grid(model, findings),
        suppressed=suppressed,
        model=model,
    )


# Below this many recorded values, a fork and sending the findings back cost more than the
# second core saves on the rules.
_MIN_SHARED_RULE_VALUES = 2_000


def _run_rules(model: Model, jobs: int | None) -> list[Finding]:
    """:func:`~keydrift.rules.interface.run_rules`, with the rules shared between this
    process and a forked child on a large model (each rule runs whole in one of them, over
    the same model; the findings are merged in rule order, so the result is the same)."""
    work = rule_jobs(model)
    fork = jobs != 1 and len(model.assignments) >= _MIN_SHARED_RULE_VALUES and can_fork()
    # Costliest first: the two processes then finish within one cheap rule of each other.
    order = sorted(range(len(work)), key=lambda i: -work[i].rule.cost)
    done = shared_map(order, lambda i: work[i].run(), fork=fork, noun="rules")
    return merge_findings(done[i] for i in range(len(work)))
