"""Candidate secrets with their provenance: process environment, explicit flags, repository model.

A candidate is one value some process could be using, plus where it is written. ``role`` says
whether it is what the verifier expects (``expected``, or ``previous`` for a rotation key) or only
a ``known`` value that might explain a mismatch (another environment's secret, a repo value).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from keydrift.errors import InputError, UsageError
from keydrift.keys import is_public_key_material
from keydrift.secret import SecretValue
from keydrift.spec import DEFAULT_JWT_SPEC, SecretSpec

__all__ = [
    "Candidate",
    "ModelView",
    "ReaderVariant",
    "ServiceKey",
    "from_flags",
    "from_model",
    "from_process_env",
    "known_specs",
    "read_model",
]

MAX_SECRET_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class ReaderVariant:
    """How one delivery path reads the candidate's written text (from the model's readers)."""

    reader: str
    value: SecretValue
    note: str


@dataclass(frozen=True)
class Candidate:
    """One candidate secret; its repr shows the fingerprint only."""

    id: str
    origin: str  # env | env_file | flag_env | flag_file | repo
    value: SecretValue = field(repr=False)
    variable: str | None = None
    path: str | None = None
    line: int | None = None
    environment: str | None = None
    service: str | None = None
    role: str = "known"  # expected | previous | known
    raw: SecretValue | None = field(default=None, repr=False)
    readers: tuple[ReaderVariant, ...] = field(default=(), repr=False)
    spec: str | None = None
    template: bool = False  # an example file (.env.example): documents a value, delivers none

    @property
    def label(self) -> str:
        """``JWT_SECRET_STAGING from staging.env:4``: names and places, never the value."""
        if self.origin == "env":
            return f"{self.variable} from the process environment"
        if self.origin == "env_file":
            return f"{self.variable} from {self.path} (via ${self.variable}_FILE)"
        if self.origin == "flag_env":
            return f"{self.variable} from the process environment (--secret-env)"
        if self.origin == "flag_file":
            return f"{self.path} (--secret-file)"
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{self.variable} from {where}" + (" (template)" if self.template else "")

    @property
    def place(self) -> str:
        """Where the value is written, without the variable: ``staging.env:3``."""
        if self.origin in ("env", "flag_env"):
            return "the process environment"
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return where + (" (template)" if self.template else "")

    @property
    def scope(self) -> str:
        """``service api, environment staging`` where known, else an empty string."""
        parts = [f"service {self.service}"] if self.service else []
        if self.environment:
            parts.append(f"environment {self.environment}")
        return ", ".join(parts)

    @property
    def expected(self) -> bool:
        return self.role in ("expected", "previous")


def known_specs() -> list[SecretSpec]:
    """The default spec plus every preset's spec (presets are optional)."""
    specs = [DEFAULT_JWT_SPEC]
    try:
        from keydrift.presets import all_presets
    except ImportError:  # pragma: no cover - presets ship with keydrift
        return specs
    specs.extend(p.spec for p in all_presets())
    return specs


def read_raw_file(path: str) -> bytes:
    """Bytes of a secret file exactly as written (the trailing newline kept)."""
    try:
        # stat before open: opening a FIFO (or a device like /dev/stdin) would block forever.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InputError("not a regular file", where=path)
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise InputError("not a regular file", where=path)
            data = fh.read(MAX_SECRET_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputError("secret file does not exist", where=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a secret file", where=path) from None
    except PermissionError:
        raise InputError("secret file is not readable", where=path) from None
    except OSError as exc:
        raise InputError(f"cannot read secret file ({exc.strerror})", where=path) from None
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise InputError("secret file is larger than 64 KiB", where=path)
    return data


def _as_read(raw: bytes) -> bytes:
    # What keydrift.resolve.read_secret_file hands the app: one trailing newline dropped.
    if raw.endswith(b"\r\n"):
        return raw[:-2]
    if raw.endswith(b"\n"):
        return raw[:-1]
    return raw


def from_process_env(
    env: Mapping[str, str] | None = None,
    specs: Sequence[SecretSpec] | None = None,
    *,
    mark_expected: bool = True,
) -> list[Candidate]:
    """Every spec variable set in ``env`` (any environment) and every ``NAME_FILE`` it names.

    With ``mark_expected``, the variables the runtime resolver would pick for ``ENVIRONMENT``
    (and the spec's previous keys) are the expected ones.
    """
    env = os.environ if env is None else env
    specs = list(specs) if specs is not None else known_specs()
    out: list[Candidate] = []
    winners: dict[str, str] = {}
    for spec in specs:
        environment = env.get(spec.environment_variable) or None
        if mark_expected and spec.name == DEFAULT_JWT_SPEC.name:
            for name in spec.variables_for(environment):
                if env.get(name) or env.get(name + spec.file_suffix):
                    winners[name] = "expected"
                    break
            for name in spec.previous_for(environment):
                winners.setdefault(name, "previous")
    seen: set[str] = set()
    for name in sorted(env):
        base = name
        is_file = False
        for spec in specs:
            if name.endswith(spec.file_suffix) and spec.matches_variable(
                name[: -len(spec.file_suffix)]
            ):
                base, is_file = name[: -len(spec.file_suffix)], True
                break
        if not any(spec.matches_variable(base) for spec in specs) or name in seen:
            continue
        seen.add(name)
        value_text = env.get(name, "")
        if not value_text:
            continue
        role = winners.get(base, "known")
        owner = next((s for s in specs if s.matches_variable(base)), None)
        spec_name = owner.name if owner is not None else None
        # JWT_SECRET_STAGING names its environment; JWT_SECRET serves whatever this process's
        # ENVIRONMENT says, which is what resolve() would judge it by.
        environment = _environment_of(base, specs) or _process_environment(env, owner)
        if is_file:
            try:
                raw = read_raw_file(value_text)
            except InputError:
                continue  # an unreadable *_FILE is check's business; explain uses what it can
            value = _as_read(raw)
            if not value:
                continue
            out.append(Candidate(
                id=f"env:{name}", origin="env_file", value=SecretValue(value), variable=base,
                path=value_text, environment=environment, role=role,
                raw=SecretValue(raw) if raw != value else None, spec=spec_name,
            ))
        else:
            out.append(Candidate(
                id=f"env:{name}", origin="env", value=SecretValue(value_text), variable=name,
                environment=environment, role=role, spec=spec_name,
            ))
    return out


def _process_environment(env: Mapping[str, str], spec: SecretSpec | None) -> str | None:
    from keydrift.spec import normalize_environment

    name = (spec or DEFAULT_JWT_SPEC).environment_variable
    value = (env.get(name) or "").strip()
    return normalize_environment(value) if value else None


def _environment_of(variable: str, specs: Iterable[SecretSpec]) -> str | None:
    """``JWT_SECRET_STAGING`` -> ``staging`` (from a template with ``{ENV}``)."""
    from keydrift.spec import normalize_environment

    for spec in specs:
        for template in spec.variables:
            if "{ENV}" not in template:
                if template == variable:
                    return None
                continue
            head, _, tail = template.partition("{ENV}")
            if (
                variable.startswith(head)
                and variable.endswith(tail)
                and len(variable) > len(head) + len(tail)
            ):
                middle = variable[len(head): len(variable) - len(tail)]
                if middle in ("KEY", "PREVIOUS"):
                    return None  # JWT_SECRET_KEY, JWT_SECRET_PREVIOUS are names, not envs
                return normalize_environment(middle)
    return None


def from_flags(
    secret_envs: Sequence[str],
    secret_files: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    environment: str | None = None,
) -> list[Candidate]:
    """Candidates named on the command line; these are the expected secrets.

    A ``--secret-file`` candidate is the file's exact bytes (a trailing newline kept): the
    variants still try the value without it and say so when that is what signed the token.
    ``environment`` (``--environment``) is the environment of candidates whose variable does
    not name one.
    """
    from keydrift.spec import normalize_environment

    env = os.environ if env is None else env
    given = normalize_environment(environment) if environment else None
    out: list[Candidate] = []
    for name in secret_envs:
        value = env.get(name)
        if not value:
            raise UsageError(
                f"--secret-env {name}: the variable is not set (or empty) in this environment",
                advice=f"export {name} first, or pass the file with --secret-file",
            )
        out.append(Candidate(id=f"flag-env:{name}", origin="flag_env", value=SecretValue(value),
                             variable=name, role="expected",
                             environment=_environment_of(name, known_specs()) or given))
    for path in secret_files:
        raw = read_raw_file(path)
        if not _as_read(raw).strip():
            raise InputError("secret file is empty", where=path)
        out.append(Candidate(
            id=f"flag-file:{path}", origin="flag_file", value=SecretValue(raw), path=path,
            role="expected", environment=given,
        ))
    return out


def _spec_of(variable: str, specs: Sequence[SecretSpec]) -> str | None:
    return next((s.name for s in specs if s.matches_variable(variable)), None)


@dataclass(frozen=True)
class ServiceKey:
    """What one service holds in one environment (from the model's effective values)."""

    service: str
    environment: str | None
    spec: SecretSpec
    variable: str | None
    location: str | None
    value: SecretValue | None = field(repr=False)
    previous: tuple[tuple[str, SecretValue], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class ModelView:
    """The part of ``keydrift check``'s model that explain uses: candidates and service keys."""

    candidates: tuple[Candidate, ...]
    services: tuple[ServiceKey, ...]


def read_model(model: Any, environment: str | None = None) -> ModelView:
    """The one adapter between ``keydrift check``'s model and explain.

    Candidates: every secret-like assignment (and public-key material), with its provenance.
    With ``environment``, assignments for that environment (or for any) are the expected ones.
    Services: each service's effective secret per environment and the spec's previous keys it
    also holds (the keys it verifies with during a rotation).
    """
    from keydrift.spec import normalize_environment

    wanted = normalize_environment(environment) if environment else None
    names = getattr(model, "names", None)
    if names is None:
        from keydrift.model.names import default_classifier

        names = default_classifier()

    specs = known_specs()
    out: list[Candidate] = []
    seen: set[tuple[str, str, int | None, str | None, str | None]] = set()
    for assignment in getattr(model, "assignments", ()):
        variable = assignment.variable
        if assignment.value is None:
            continue
        # Public keys are not secret-like by name (JWT_PUBLIC_KEY), but an HMAC token that
        # verifies with one is the algorithm-confusion attack, so they are candidates too.
        if not names.is_secret(variable) and not is_public_key_material(
            assignment.value.reveal()
        ):
            continue
        if not assignment.value:
            continue
        loc = assignment.location
        key = (variable, loc.path, loc.line, assignment.environment, assignment.service)
        if key in seen:
            continue
        seen.add(key)
        readers = tuple(
            ReaderVariant(r.reader, r.value, r.note)
            for r in getattr(assignment, "readers", ())
            if r.value is not None
        )
        out.append(Candidate(
            id=f"repo:{loc.path}:{loc.line or 0}:{variable}:{assignment.service or ''}",
            origin="repo", value=assignment.value, variable=variable, path=loc.path,
            line=loc.line, environment=assignment.environment, service=assignment.service,
            raw=getattr(assignment, "raw", None), readers=readers,
            role="expected" if wanted and assignment.environment in (wanted, None) else "known",
            template=bool(getattr(assignment, "template", False)),
            spec=_spec_of(variable, specs),
        ))
    services: list[ServiceKey] = []
    for eff in getattr(model, "effective", ()):
        assignment = eff.assignment
        value = assignment.value if assignment is not None else None
        held = getattr(eff.service, "env", {}) or {}
        previous = tuple(
            (name, held[name].value) for name in eff.spec.previous_for(eff.environment)
            if name in held and held[name].value
        )
        services.append(ServiceKey(
            service=eff.service.name, environment=eff.environment, spec=eff.spec,
            variable=eff.variable,
            location=str(assignment.location) if assignment is not None else None,
            value=value or None, previous=previous,
        ))
    return ModelView(tuple(out), tuple(services))


def from_model(model: Any, environment: str | None = None) -> list[Candidate]:
    """The candidates of :func:`read_model`."""
    return list(read_model(model, environment).candidates)
