"""Helpers shared by rules: provenance, share-sets, severities by environment.

Not a rule module (the leading underscore keeps it out of discovery).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from keydrift.keys import short
from keydrift.model.names import is_template_path
from keydrift.model.types import Assignment, CodeRead, Effective, Location, Model, Origin, Service
from keydrift.presets.interface import Preset, all_presets
from keydrift.rules.interface import Severity
from keydrift.secret import SecretValue
from keydrift.spec import SecretKind, SecretSpec
from keydrift.strength import (
    WEAK_LABEL,
    Assessment,
    StrengthReport,
    assess,
)
from keydrift.values import ValueKind, value_kind

T = TypeVar("T")
_MISSING: Any = object()
ANY_ENV = "any environment"


def assessment(model: Model, value: SecretValue) -> Assessment:
    """:func:`keydrift.strength.assess`, once per value and model: a value shared by many
    services is judged by several rules and the grid."""
    key = value.fingerprint
    found = model.assessments.get(key)
    if found is None:
        found = model.assessments[key] = assess(value)
    return found


def guessable(model: Model, value: SecretValue) -> bool:
    """:func:`keydrift.strength.is_guessable`, from the run's one assessment of the value."""
    return assessment(model, value).guessable


def strength_of(
    model: Model, value: SecretValue, algorithm: str = "HS256", *, min_bytes: int | None = None
) -> StrengthReport:
    """:func:`keydrift.strength.check_strength`, from the run's one assessment of the value."""
    return assessment(model, value).report(algorithm, min_bytes=min_bytes)


def fp(model: Model, value: SecretValue) -> str:
    """Display fingerprint of a value: ``weak`` for one its fingerprint would give away.

    A PIN or a listed secret is recovered from its unsalted SHA-256 thumbprint in seconds, so
    reports never carry one (see :func:`keydrift.strength.is_guessable`). Group values by
    ``value.fingerprint``; use :func:`fp_labels` where one finding names several values.
    """
    return WEAK_LABEL if guessable(model, value) else short(value.fingerprint)


def fp_labels(model: Model, values: Iterable[SecretValue]) -> dict[str, str]:
    """Display labels keyed by full fingerprint, in first-seen order.

    Guessable values are ``weak``; when one finding holds several different guessable values
    they become ``weak-1``, ``weak-2``, ... so the report still says they differ (the numbers
    only count them: they say nothing about the values).
    """
    labels: dict[str, str] = {}
    weak: list[str] = []
    for value in values:
        key = value.fingerprint
        if key in labels:
            continue
        label = fp(model, value)
        if label == WEAK_LABEL:
            weak.append(key)
        labels[key] = label
    if len(weak) > 1:
        for n, key in enumerate(weak, start=1):
            labels[key] = f"{WEAK_LABEL}-{n}"
    return labels


def fp_or_weak(model: Model, value: SecretValue) -> list[str]:
    """The fingerprint to show, or none for a guessable value: a fingerprint of a short or
    guessable value lets anyone recover it offline (one rule: ``strength.is_guessable``)."""
    return [] if guessable(model, value) else [fp(model, value)]


def shared_default_note(a: Assignment, users: Iterable[str]) -> str:
    """For a ``${VAR:-default}`` default: who runs with it wherever VAR is not set."""
    if not a.default:
        return ""
    names = list(users)
    if len(names) >= 2:
        return (f"; it is the default of {len(names)} services ({join(names)}), shipped to every "
                "deployment that does not set the variable")
    return "; it is a default, shipped to every deployment that does not set the variable"


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
    """``environment`` is production-like; an unknown one is when the configuration says
    ``production_like_default = true``."""
    if environment is None:
        return model.config.production_like_default
    return environment in model.production_like


def severity_for(
    model: Model, environments: Iterable[str], *, production: Severity, other: Severity
) -> Severity:
    envs = tuple(environments)
    if any(is_production_like(model, e) for e in envs) or (not envs and is_production_like(model, None)):
        return production
    return other


def envs_label(environments: Iterable[str]) -> str:
    envs = list(environments)
    return ", ".join(envs) if envs else ANY_ENV


def kind_of(model: Model, variable: str) -> SecretKind:
    """What the secret in ``variable`` is for (spec or preset first, then its name)."""
    return memo(model, "kind", variable, _kind_of, model, variable)


def _kind_of(model: Model, variable: str) -> SecretKind:
    spec = spec_for_variable(model, variable)
    if spec is not None:
        return spec.kind
    return model.names.kind_of(variable)


def from_env_template(a: Assignment) -> bool:
    """The value is written in a template (``.env.example``) whose copies deployments run with,
    as opposed to a test fixture or an example manifest, which deploy nothing."""
    return a.template and is_template_path(literal_location(a).path) and not (
        literal_location(a).path.endswith(".py")
    )


def placeholder_of(model: Model, value: SecretValue) -> str | None:
    """:func:`keydrift.strength.placeholder_reason`, from the run's one assessment of the
    value."""
    return assessment(model, value).placeholder


def judged(model: Model, a: Assignment) -> bool:
    """:func:`judged_as_secret`, once per (value, variable) and model."""
    if a.value is None:
        return False
    key = (a.value.fingerprint, a.variable)
    found = model.verdicts.get(key)  # most were judged while the files were read
    if found is not None:
        return found
    return memo(model, "judged", key, judged_as_secret, a)


def judged_as_secret(a: Assignment) -> bool:
    """The delivered value is something the strength policy can judge: not a number, flag,
    duration, URL without credentials, algorithm name or run-time expression."""
    return (
        a.value is not None
        and value_kind(a.value.reveal_text(), a.variable) is ValueKind.SECRET
    )


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
    for preset in all_presets():
        if spec in preset.specs:
            return preset
    return None


def is_file_pointer(model: Model, variable: str) -> bool:
    """``JWT_SECRET_FILE`` names a path to the secret, not the secret.

    Spec templates like ``JWT_SECRET_{ENV}`` would otherwise match it with ENV=FILE.
    """
    return memo(model, "file-pointer", variable, _file_pointer, model, variable)


def _all_specs(model: Model) -> tuple[SecretSpec, ...]:
    """The model's specs, then every preset's, in the order lookups try them."""
    return memo(model, "all-specs", None, lambda: (
        *model.specs, *(s for p in all_presets() for s in p.specs)))


def _file_pointer(model: Model, variable: str) -> bool:
    specs = _all_specs(model)
    suffixes: tuple[str, ...] = memo(model, "file-suffixes", None, lambda: tuple(
        dict.fromkeys(s.file_suffix for s in specs if s.file_suffix)))
    if not variable.endswith(suffixes):
        return False  # most names: no spec's suffix at all
    for spec in specs:
        suffix = spec.file_suffix
        if suffix and variable.endswith(suffix):
            base = variable[: -len(suffix)]
            if spec.matches_variable(base):
                return True
    return False


def is_secret_name(model: Model, variable: str) -> bool:
    """A variable that holds a secret value (not a path to one)."""
    return model.names.is_secret(variable) and not is_file_pointer(model, variable)


def memo(model: Model, table: str, key: Any, compute: Callable[..., T], *args: Any) -> T:
    """``compute(*args)`` once per model and ``key`` (a fingerprint or a name, never a value).
    The rules ask tens of thousands of times: arguments rather than a closure, so that a hit
    allocates nothing."""
    cache = model.memo.get(table)
    if cache is None:
        cache = model.memo[table] = {}
    found = cache.get(key, _MISSING)
    if found is _MISSING:
        found = cache[key] = compute(*args)
    result: T = found
    return result


def spec_for_variable(model: Model, variable: str) -> SecretSpec | None:
    """The configured or preset spec that names ``variable``, if any."""
    return memo(model, "spec", variable, _spec_for_variable, model, variable)


def _spec_for_variable(model: Model, variable: str) -> SecretSpec | None:
    if is_file_pointer(model, variable):
        return None
    named = memo(model, "any-spec", None,
                 lambda: SecretSpec.any_variable_pattern(_all_specs(model)))
    if named.match(variable) is None:
        return None  # most names: one match says no spec names them
    return next((spec for spec in _all_specs(model) if spec.matches_variable(variable)), None)


def unique_assignments(
    model: Model, keep: Callable[[Assignment], bool]
) -> Iterator[Assignment]:
    """Assignments passing ``keep``, one per (variable, literal place, value)."""
    for a, _envs in unique_values(model, keep):
        yield a


def unique_values(
    model: Model, keep: Callable[[Assignment], bool]
) -> Iterator[tuple[Assignment, tuple[str, ...]]]:
    """Assignments passing ``keep``, one per value written once (variable, literal place,
    value), with every environment it reaches.

    A compose ``${JWT_SECRET}`` and the ``.env`` line it came from are one value written once,
    and a value seen under several environment guesses is one cause: one finding each.
    """
    for group in _value_groups(model):
        if len(group) == 1:  # most values are written once and reach one place
            only_one = group[0]
            if keep(only_one):
                yield only_one, ((only_one.environment,) if only_one.environment else ())
            continue
        items = [a for a in group if keep(a)]
        if not items:
            continue
        envs = tuple(sorted({a.environment for a in items if a.environment}))
        # The name the value is written under (the env-file line's own key) names the finding.
        written = [a for a in items if a.service is None] or items
        first = next((a for a in written if is_production_like(model, a.environment)), written[0])
        yield first, envs


def _value_groups(model: Model) -> list[list[Assignment]]:
    """Assignments with a value, grouped by (literal place, value), once per model. Within a
    group, only one assignment per distinct set of facts a rule can filter on is kept, plus
    every environment: 200 services reading one env-file line are one candidate, not 200."""
    def build() -> list[list[Assignment]]:
        groups: dict[tuple[Location, str], dict[tuple[Any, ...], Assignment]] = {}
        for a in model.assignments:
            if a.value is None:
                continue
            where = (literal_location(a), a.value.fingerprint)
            facts = (a.variable, a.source, a.template, a.literal, a.tracked, a.default,
                     a.service is None, a.environment, bool(a.readers))
            groups.setdefault(where, {}).setdefault(facts, a)
        return [list(g.values()) for g in groups.values()]

    return memo(model, "value-groups", None, build)


def consumers(model: Model, a: Assignment) -> tuple[str, ...]:
    """Names of services whose effective value is this assignment's written value (under any
    variable name)."""
    names = set(model.consumers(None, literal_location(a)))
    if a.service:
        names.add(a.service)
    return tuple(sorted(n for n in names if n))


@dataclass
class ShareSet:
    """Services of one unit that must use the same secret for ``spec`` in ``environment``."""

    unit: str
    environment: str | None
    spec: SecretSpec
    members: list[Effective]
    reason: str
    preset: Preset | None = None

    @property
    def services(self) -> list[Service]:
        return [e.service for e in self.members]


def share_sets(model: Model) -> list[ShareSet]:
    """Configured groups, preset components, or (without groups) every service of a spec, each
    within one deployment unit: alternative ways to deploy are never compared.

    Without configuration, services of one unit that read the same JWT spec in one environment
    are assumed to verify each other's tokens: that is the incident this tool exists for.
    """
    buckets: dict[tuple[str, str | None, str], list[Effective]] = {}
    for e in model.effective:
        buckets.setdefault((e.service.unit, e.environment, e.spec.name), []).append(e)
    out: list[ShareSet] = []
    groups = model.config.groups
    for (unit, env, _name), effs in sorted(
        buckets.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2])
    ):
        spec = effs[0].spec
        preset = preset_for_spec(spec)
        if preset is not None:
            if preset.must_share:
                out.append(
                    ShareSet(unit, env, spec, effs, f"{preset.title} components must share it",
                             preset)
                )
            continue
        if groups:
            for group in sorted(groups):
                members = [e for e in effs if group in e.service.groups]
                if members:
                    out.append(ShareSet(unit, env, spec, members, f"configured group {group!r}"))
        else:
            why = "services reading one secret spec verify each other's tokens"
            out.append(ShareSet(unit, env, spec, effs, why))
    return out


def key_volume(
    preset: Preset | None, spec: SecretSpec, services: Iterable[Service]
) -> str | None:
    """The one persistent volume every given service keeps the app's generated key on (the
    preset says where the key lives), or ``None`` when any of them keeps it in the container."""
    storage = preset.key_storage_for(spec) if preset is not None else None
    if storage is None:
        return None
    found: set[str] = set()
    for service in services:
        where = storage.location(service.settings)
        mount = next(
            (m for m in service.mounts
             if m.persistent and m.target
             and (where == m.target.rstrip("/") or where.startswith(m.target.rstrip("/") + "/"))),
            None,
        )
        if mount is None:
            return None
        found.add(mount.source)
    return found.pop() if len(found) == 1 else None


@dataclass
class OriginGroup:
    """Services of one unit fed from one origin, under whatever variable names."""

    unit: str
    environment: str | None
    origin: Origin
    members: list[tuple[Service, Assignment]]

    @property
    def variables(self) -> list[str]:
        return sorted({a.variable for _, a in self.members})


def origin_groups(model: Model) -> list[OriginGroup]:
    """Every origin that at least two services of a unit receive (secret-like variables)."""
    buckets: dict[tuple[str, str | None, Origin], dict[str, tuple[Service, Assignment]]] = {}
    for service in model.services:
        for a in service.env.values():
            for origin in a.origins:
                key = (service.unit, service.environment, origin)
                members = buckets.setdefault(key, {})
                members.setdefault(f"{service.name}\0{a.variable}", (service, a))
    out = []
    for (unit, env, origin), members in buckets.items():
        if len({s.name for s, _ in members.values()}) >= 2:
            out.append(OriginGroup(unit, env, origin, list(members.values())))
    return sorted(out, key=lambda g: (g.unit, g.environment or "", g.origin.name))


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


@dataclass
class MissingSet:
    """Services of one unit left without a spec's secret, in the environments listed (one
    cause, one finding)."""

    unit: str
    environments: tuple[str, ...]
    spec: SecretSpec
    preset: Preset | None
    missing: list[Effective]
    agreeing: list[str]

    @property
    def processes(self) -> int:
        return sum(e.service.processes for e in self.missing)

    @property
    def generates(self) -> bool:
        """Each process makes up its own key (apps that refuse to start or run with an empty
        key do not)."""
        return self.preset is None or self.preset.generates_when_unset

    @property
    def variable(self) -> str:
        env = self.environments[0] if self.environments else None
        return (self.spec.variables_for(env) or self.spec.variables)[0]

    @property
    def volume(self) -> str | None:
        """The persistent volume every missing service keeps the generated key on."""
        return key_volume(self.preset, self.spec, (e.service for e in self.missing))

    @property
    def written_once(self) -> bool:
        """An init step writes the key once onto a volume all of them mount: they share it."""
        storage = self.preset.key_storage_for(self.spec) if self.preset else None
        return storage is not None and storage.written_once and self.volume is not None


def missing_sets(model: Model) -> list[MissingSet]:
    """Effective values that are missing, grouped by unit and spec; the same services missing
    in several environments are one set."""
    by_key: dict[tuple[str, str, str | None], list[Effective]] = {}
    agreeing: dict[tuple[str, str, str | None], list[str]] = {}
    for e in model.effective:
        key = (e.service.unit, e.spec.name, e.environment)
        if is_missing(e):
            by_key.setdefault(key, []).append(e)
        else:
            agreeing.setdefault(key, []).append(e.service.name)
    merged: dict[tuple[str, str, tuple[str, ...]], MissingSet] = {}
    for (unit, spec_name, env), effs in sorted(
        by_key.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
    ):
        names = tuple(sorted({e.service.name for e in effs}))
        spec = effs[0].spec
        found = merged.get((unit, spec_name, names))
        if found is None:
            merged[(unit, spec_name, names)] = MissingSet(
                unit, (env,) if env else (), spec, preset_for_spec(spec),
                _one_per_service(effs), sorted(set(agreeing.get((unit, spec_name, env), []))),
            )
        elif env and env not in found.environments:
            found.environments = (*found.environments, env)
    return list(merged.values())


def _one_per_service(effs: list[Effective]) -> list[Effective]:
    seen: dict[tuple[str, str], Effective] = {}
    for e in effs:
        seen.setdefault((e.service.name, e.service.location.path), e)
    return list(seen.values())


def describe_processes(svc: Service) -> str:
    """``3 replicas``, ``1 replica x 4 workers``."""
    text = f"{svc.replicas} replica{'s' if svc.replicas != 1 else ''}"
    if svc.workers > 1:
        text += f" x {svc.workers} workers"
    return text


def random_looking(model: Model, value: SecretValue) -> bool:
    """A value that looks generated: long, varied and on no public list. A template or default
    holding one hands the same real key to everyone who copies it. Guessable values (placeholders,
    public lists, low entropy) are never random-looking: one rule, ``strength.is_guessable``."""
    return looks_generated(value.reveal_text()) and not guessable(model, value)


def looks_generated(text: str) -> bool:
    """Long, without spaces, and mixing at least two of lower case, upper case and digits (the
    cheap half of :func:`random_looking`)."""
    if len(text) < 16 or any(c.isspace() for c in text):
        return False
    classes = sum((any(c.islower() for c in text), any(c.isupper() for c in text),
                   any(c.isdigit() for c in text)))
    return classes >= 2


def edit_me_files(model: Model) -> frozenset[str]:
    """Tracked env files and manifests whose secret values are all placeholders or empty: the
    file a project ships for users to fill in, a template in all but name."""
    verdict: dict[str, bool] = {}
    for a in model.assignments:
        if a.value is None or a.tracked != "tracked" or a.source not in ("dotenv", "kubernetes"):
            continue
        if not model.names.is_secret(a.variable):
            continue
        path = literal_location(a).path
        ok = (
            not a.value.reveal_text().strip() or not judged(model, a)
            or placeholder_of(model, a.value) is not None
        )
        verdict[path] = verdict.get(path, True) and ok
    return frozenset(p for p, ok in verdict.items() if ok)


def must_share(model: Model, a: Assignment, users: Iterable[str]) -> bool:
    """An app's own key (a preset's, under any name it is delivered as) that several services
    of the deployment read."""
    if len(list(users)) < 2:
        return False
    where = literal_location(a)
    names = {b.variable for b in model.assignments if literal_location(b) == where}
    for name in names:
        spec = spec_for_variable(model, name)
        if spec is not None and preset_for_spec(spec) is not None:
            return True
    return False


@dataclass
class CodeSet:
    """A per-process secret in code and the services of one unit that run it unset."""

    code: CodeRead
    unit: str
    services: list[Service]

    @property
    def processes(self) -> int:
        return sum(s.processes for s in self.services)


def code_sets(model: Model) -> list[CodeSet]:
    """Code that makes a per-process key, with the services that run it without the variable."""
    out: dict[tuple[Location, str], CodeSet] = {}
    for service in model.services:
        for code in service.code:
            if code.variable is not None:
                given = service.env.get(code.variable)
                if given is not None and (given.value is None or len(given.value) > 0):
                    continue  # the deployment sets it (or leaves it to the deploy shell)
            key = (code.location, service.unit)
            out.setdefault(key, CodeSet(code, service.unit, [])).services.append(service)
    return sorted(out.values(), key=lambda c: (str(c.code.location), c.unit))
