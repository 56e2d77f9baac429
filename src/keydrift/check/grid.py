"""The drift grid: which service has which key, in which environment.

Built once per check from the model (one group per deployment unit x secret spec, plus one per
origin that several services receive under names no spec covers), so reports only lay it out.
A cell carries a short fingerprint, a marker and a key letter per distinct value (the same
letter for the same value everywhere in the report), never a value; weak values get no
fingerprint (it would let anyone recover them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from keydrift.model.findings import Finding
from keydrift.model.result import GridCell, Marker, SecretGroup
from keydrift.model.types import Assignment, Effective, Model, Service, Step
from keydrift.rules._common import (
    fp_or_weak,
    is_missing,
    is_secret_name,
    origin_groups,
    preset_for_spec,
    spec_for_variable,
    strength_of,
)
from keydrift.secret import SecretValue
from keydrift.spec import SecretSpec

__all__ = ["build_grid"]

_WEAK_CODES = ("empty", "too_short", "low_entropy", "known_weak")


def _letter(n: int) -> str:
    """A, B, ... Z, AA, AB ...: as many as a group needs."""
    out = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


@dataclass
class _Judge:
    """Markers and labels per value, computed once per fingerprint in a check."""

    model: Model
    cache: dict[str, tuple[Marker, str | None]] = field(default_factory=dict)

    def __call__(self, value: SecretValue) -> tuple[Marker, str | None]:
        key = value.fingerprint
        if key not in self.cache:
            report = strength_of(self.model, value)
            shown = fp_or_weak(self.model, value)
            if report.has("placeholder"):
                marker = Marker.PLACEHOLDER
            elif any(report.has(code) for code in _WEAK_CODES) or not shown:
                marker = Marker.WEAK
            else:
                marker = Marker.OK
            self.cache[key] = (marker, shown[0] if shown else None)
        return self.cache[key]


def _steps(service: Service, a: Assignment) -> tuple[Step, ...]:
    """The assignment's chain (outermost first, ending at the literal), else where it is."""
    if a.chain:
        return a.chain
    return (Step(a.location, f"{service.name} gets {a.variable} ({a.source})"),)


class _Letters:
    """One letter per distinct value, in the order cells are laid out."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, value: SecretValue) -> str:
        fingerprint = value.fingerprint
        if fingerprint not in self.seen:
            self.seen[fingerprint] = _letter(len(self.seen))
        return self.seen[fingerprint]


def _ordered_envs(envs: Iterable[str | None]) -> tuple[str | None, ...]:
    return tuple(sorted(set(envs), key=lambda e: (e is not None, e or "")))


def _spec_cell(
    e: Effective, judge: _Judge, letters: _Letters, generates: bool
) -> tuple[Marker, str | None, str | None, tuple[Step, ...]]:
    service, a = e.service, e.assignment
    if is_missing(e) or a is None:
        codes = [c for c in service.code
                 if c.variable is None or e.spec.matches_variable(c.variable)]
        names = e.spec.variables_for(e.environment) or e.spec.variables
        wanted = names[0] if names else e.spec.name
        if generates or codes:
            steps = tuple(Step(c.location, f"generates a key per process ({c.expression})")
                          for c in codes)
            note = f"{service.name}: {wanted} not set; each process generates its own key"
            return Marker.GENERATED, None, None, (Step(service.location, note), *steps)
        note = f"{service.name}: {wanted} not set (or empty)"
        return Marker.MISSING, None, None, (Step(service.location, note),)
    if a.value is None:
        return Marker.UNRESOLVED, None, None, _steps(service, a)
    marker, label = judge(a.value)
    return marker, letters(a.value), label, _steps(service, a)


class _FindingIndex:
    """Findings by service name, to attach their ids to cells without a quadratic scan."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.by_service: dict[str, list[Finding]] = {}
        for f in findings:
            for name in f.services:
                self.by_service.setdefault(name, []).append(f)

    def ids(self, unit: str, service: str, environment: str | None,
            about: Callable[[str], bool]) -> tuple[str, ...]:
        out = []
        for f in self.by_service.get(service, ()):
            if f.unit not in (None, unit):
                continue
            if environment is None and f.environments:
                continue
            if environment is not None and not f.applies_to(environment):
                continue
            if f.variable is not None and not about(f.variable):
                continue
            out.append(f.finding_id)
        return tuple(dict.fromkeys(out))


def _spec_groups(
    model: Model, index: _FindingIndex, judge: _Judge, letters: _Letters
) -> list[SecretGroup]:
    buckets: dict[tuple[str, str], list[Effective]] = {}
    for e in model.effective:
        buckets.setdefault((e.service.unit, e.spec.name), []).append(e)
    groups = []
    for (unit, spec_name), effs in sorted(buckets.items()):
        spec = effs[0].spec
        preset = preset_for_spec(spec)
        generates = preset is not None and preset.generates_when_unset
        envs = _ordered_envs(e.environment for e in effs)
        services = tuple(sorted({e.service.name for e in effs}))
        cells: dict[tuple[str | None, str], GridCell] = {}
        # Findings about this secret: its spec's variables (KD201 names the spec itself).
        named = {v for e in effs for v in (e.variable, *spec.variables) if v} | {spec.name}

        def about(variable: str, named: set[str] = named, spec: SecretSpec = spec) -> bool:
            return variable in named or spec.matches_variable(variable)

        for e in sorted(effs, key=lambda e: ((e.environment or ""), e.service.name)):
            where = (e.environment, e.service.name)
            if where in cells:
                continue
            marker, key, label, steps = _spec_cell(e, judge, letters, generates)
            cells[where] = GridCell(
                service=e.service.name, environment=e.environment, marker=marker, key=key,
                label=label, variable=e.variable, steps=steps,
                findings=index.ids(unit, e.service.name, e.environment, about),
                processes=e.service.processes,
            )
        groups.append(SecretGroup(unit=unit, label=spec_name, kind="spec", environments=envs,
                                  services=services, cells=tuple(cells.values())))
    return groups


def _origin_groups(
    model: Model, index: _FindingIndex, judge: _Judge, letters: _Letters
) -> list[SecretGroup]:
    merged: dict[tuple[str, str], list[tuple[str | None, Service, Assignment]]] = {}
    labels: dict[tuple[str, str], str] = {}
    for og in origin_groups(model):
        variables = og.variables
        # Spec groups already show what a spec names; an origin group adds the secrets shared
        # under other names (SUPABASE_JWT_SECRET and PGRST_JWT_SECRET from one ${JWT_SECRET}).
        if len(variables) < 2 or not all(is_secret_name(model, v) for v in variables):
            continue
        if all(spec_for_variable(model, v) is not None for v in variables):
            continue
        where = (og.unit, f"{og.origin.kind}:{og.origin.name}")
        labels[where] = og.origin.describe()
        merged.setdefault(where, []).extend((og.environment, s, a) for s, a in og.members)
    groups = []
    for (unit, name), members in sorted(merged.items()):
        cells: dict[tuple[str | None, str], GridCell] = {}
        names = {a.variable for _, _, a in members}
        for env, service, a in sorted(members, key=lambda m: ((m[0] or ""), m[1].name)):
            at = (env, service.name)
            if at in cells:
                continue
            key: str | None = None
            label: str | None = None
            if a.value is None:
                marker = Marker.UNRESOLVED
            elif len(a.value) == 0:
                marker = Marker.MISSING
            else:
                marker, label = judge(a.value)
                key = letters(a.value)
            cells[at] = GridCell(
                service=service.name, environment=env, marker=marker, key=key, label=label,
                variable=a.variable, steps=_steps(service, a),
                findings=index.ids(unit, service.name, env, names.__contains__),
                processes=service.processes,
            )
        groups.append(SecretGroup(
            unit=unit, label=labels[(unit, name)], kind="origin",
            environments=_ordered_envs(env for env, _, _ in members),
            services=tuple(sorted({s.name for _, s, _ in members})), cells=tuple(cells.values()),
        ))
    return groups


def build_grid(model: Model, findings: Sequence[Finding]) -> list[SecretGroup]:
    """Every secret group of ``model``, with the ids of ``findings`` attached to their cells."""
    index = _FindingIndex(findings)
    judge = _Judge(model)
    # One letter per distinct value in the whole report, not per group: a deploy script and a
    # compose project (separate units) that disagree must not both show "A".
    letters = _Letters()
    return (_spec_groups(model, index, judge, letters)
            + _origin_groups(model, index, judge, letters))
