"""Helpers shared by rules: provenance, share-sets, severities by environment.

Not a rule module (the leading underscore keeps it out of discovery).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from keydrift.keys import short
from keydrift.model.types import Assignment, Effective, Location, Model, Service
from keydrift.presets.interface import Preset, all_presets, preset_by_id
from keydrift.rules.interface import Severity
from keydrift.secret import SecretValue
from keydrift.spec import SecretSpec

ANY_ENV = "any environment"


def fp(value: SecretValue) -> str:
    """Display fingerprint of a value."""
    return short(value.fingerprint)


def env_label(environment: str | None) -> str:
    return environment if environment else ANY_ENV


def literal_location(a: Assignment) -> Location:
    """Where the value is written: the end of the provenance chain, else the assignment."""
    return a.chain[-1].location if a.chain else a.location


def provenance(a: Assignment) -> tuple[Location, ...]:
    """Locations of the chain (outermost first) ending at the literal, without repeats."""
    locs = [a.location, *(step.location for step in a.chain)]
    return tuple(dict.fromkeys(locs))


def is_production_like(model: Model, environment: str | None) -> bool:
    if environment is None:
        return False
    return environment in model.production_like


def by_environment(
    model: Model, environment: str | None, *, production: Severity, other: Severity
) -> Severity:
    return production if is_production_like(model, environment) else other


def has_value(a: Assignment | None) -> bool:
    """Set to a non-empty value the model could resolve."""
    return a is not None and a.value is not None and len(a.value) > 0


def is_missing(e: Effective) -> bool:
    """No variable of the spec set, or set to an empty string (compose's unset ``${VAR}``)."""
    if e.assignment is None or e.variable is None:
        return True
    return e.assignment.value is not None and len(e.assignment.value) == 0


def preset_for_spec(spec: SecretSpec) -> Preset | None:
    """The preset whose spec this is (presets name their spec after their id)."""
    preset = preset_by_id(spec.name)
    if preset is not None and preset.spec.variables == spec.variables:
        return preset
    return None


def is_file_pointer(model: Model, variable: str) -> bool:
    """``JWT_SECRET_FILE`` names a path to the secret, not the secret.

    Spec templates like ``JWT_SECRET_{ENV}`` would otherwise match it with ENV=FILE.
    """
    return _file_pointer(variable, tuple(model.specs))


@lru_cache(maxsize=65536)
def _file_pointer(variable: str, specs: tuple[SecretSpec, ...]) -> bool:
    for spec in (*specs, *(p.spec for p in all_presets())):
        suffix = spec.file_suffix
        if suffix and variable.endswith(suffix):
            base = variable[: -len(suffix)]
            if spec.matches_variable(base):
                return True
    return False


def is_secret_name(model: Model, variable: str) -> bool:
    """A variable that holds a secret value (not a path to one)."""
    return model.names.is_secret(variable) and not is_file_pointer(model, variable)


def spec_for_variable(model: Model, variable: str) -> SecretSpec | None:
    """The configured or preset spec that names ``variable``, if any."""
    if is_file_pointer(model, variable):
        return None
    for spec in model.specs:
        if spec.matches_variable(variable):
            return spec
    for preset in all_presets():
        if preset.spec.matches_variable(variable):
            return preset.spec
    return None


def unique_assignments(
    model: Model, keep: Callable[[Assignment], bool]
) -> Iterator[Assignment]:
    """Assignments passing ``keep``, one per (variable, environment, literal place, value).

    A compose ``${JWT_SECRET}`` and the ``.env`` line it came from are one value written once;
    reporting it twice would only add noise.
    """
    seen: set[tuple[str, str | None, Location, str]] = set()
    for a in model.assignments:
        if a.value is None or not keep(a):
            continue
        key = (a.variable, a.environment, literal_location(a), a.value.fingerprint)
        if key in seen:
            continue
        seen.add(key)
        yield a


def consumers(model: Model, a: Assignment) -> tuple[str, ...]:
    """Names of services whose effective value is this assignment's written value."""
    names = set(model.consumers(a.variable, literal_location(a)))
    if a.service:
        names.add(a.service)
    return tuple(sorted(n for n in names if n))


@dataclass
class ShareSet:
    """Services that must use the same secret for ``spec`` in ``environment``, and why."""

    environment: str | None
    spec: SecretSpec
    members: list[Effective]
    reason: str
    preset: Preset | None = None

    @property
    def services(self) -> list[Service]:
        return [e.service for e in self.members]


def share_sets(model: Model) -> list[ShareSet]:
    """Configured groups, preset components, or (without groups) every service of a spec.

    Without configuration, services that read the same JWT spec in one environment are assumed
    to verify each other's tokens: that is the incident this tool exists for.
    """
    buckets: dict[tuple[str | None, str], list[Effective]] = {}
    for e in model.effective:
        buckets.setdefault((e.environment, e.spec.name), []).append(e)
    out: list[ShareSet] = []
    groups = model.config.groups
    for (env, _name), effs in sorted(buckets.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        spec = effs[0].spec
        preset = preset_for_spec(spec)
        if preset is not None:
            if preset.must_share:
                out.append(
                    ShareSet(env, spec, effs, f"{preset.title} components must share it", preset)
                )
            continue
        if groups:
            for group in sorted(groups):
                members = [e for e in effs if group in e.service.groups]
                if members:
                    out.append(ShareSet(env, spec, members, f"configured group {group!r}"))
        else:
            why = "services reading one secret spec verify each other's tokens"
            out.append(ShareSet(env, spec, effs, why))
    return out


def service_labels(services: Iterable[Service]) -> list[str]:
    """Service names, with the platform added where two services share a name.

    A compose ``backend`` and the ``backend`` a deploy script pushes to Cloud Run are different
    processes; the report must tell them apart.
    """
    items = list(services)
    count: dict[str, int] = {}
    for s in items:
        count[s.name] = count.get(s.name, 0) + 1
    return [f"{s.name} ({s.platform})" if count[s.name] > 1 else s.name for s in items]


def capped(items: Iterable[str], *, sep: str = ", ", limit: int = 8) -> str:
    """Join at most ``limit`` items, then "and N more" (one root may hold hundreds)."""
    values = list(items)
    if len(values) <= limit:
        return sep.join(values)
    return sep.join(values[:limit]) + f"{sep}and {len(values) - limit} more"


def join(names: Iterable[str]) -> str:
    return capped(names) or "(none)"
