"""The public types of ``keydrift check``'s model (see the model contract).

Sources produce :class:`Assignment` objects; the model groups them into :class:`Service` objects
and computes one :class:`Effective` per environment x service x spec. Rules read a :class:`Model`
and nothing else. Values are :class:`~keydrift.secret.SecretValue` objects, so no repr here can
show a secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from keydrift.model.names import NameClassifier, default_classifier
from keydrift.secret import SecretValue
from keydrift.spec import SecretSpec
from keydrift.strength import Assessment

if TYPE_CHECKING:
    from keydrift.model.config import Config

_T = TypeVar("_T")


def _pickled_by_constructor(cls: type[_T]) -> type[_T]:
    """Pickle ``cls`` as its constructor and field values. A forked reader sends thousands of
    these back (``keydrift.check.parallel``); a frozen, slotted dataclass otherwise goes
    through ``copyreg`` and a generated ``__setstate__``, which took half again as long to
    write and load. Every field of these classes is an ``__init__`` argument."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    def __reduce__(self: _T) -> tuple[Callable[..., _T], tuple[Any, ...]]:
        return cls, tuple([getattr(self, name) for name in names])

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls

__all__ = [
    "Assignment",
    "CodeRead",
    "Effective",
    "FallbackKind",
    "Location",
    "Model",
    "Mount",
    "Origin",
    "OriginKind",
    "ReaderView",
    "Service",
    "Skipped",
    "Step",
    "Unit",
    "UnitKind",
]


@_pickled_by_constructor
@dataclass(frozen=True, slots=True)
class Location:
    """A place in the scanned tree: path relative to the scan root (POSIX), ``-`` for stdin."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@_pickled_by_constructor
@dataclass(frozen=True, slots=True)
class Step:
    """One step of a provenance chain, e.g. ``env_file: .env.staging``."""

    location: Location
    note: str

    def __str__(self) -> str:
        return f"{self.location} ({self.note})" if self.note else str(self.location)


class OriginKind(StrEnum):
    """What makes several variables one secret, whatever their names."""

    INTERPOLATION = "interpolation"
    """``${JWT_SECRET}`` (the whole value) in a compose file or script of one unit."""
    WRITTEN = "written"
    """One place in a file: a YAML anchor merged into several services, an env-file line."""
    STORE_KEY = "store-key"
    """One key of a Kubernetes Secret or ConfigMap."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a delivered value comes from; services receiving one origin must agree."""

    kind: OriginKind
    name: str
    """The interpolated variable, ``Secret/name/key``, or the written place (``path:line``)."""
    location: Location

    def describe(self) -> str:
        if self.kind is OriginKind.INTERPOLATION:
            return f"${{{self.name}}}"
        if self.kind is OriginKind.STORE_KEY:
            return self.name
        return f"the value written at {self.location}"


class UnitKind(StrEnum):
    """A deployment unit: where processes are counted and values compared."""

    COMPOSE = "compose"
    KUSTOMIZE = "kustomize"
    MANIFESTS = "manifests"
    SCRIPT = "script"


@dataclass(frozen=True, slots=True)
class Unit:
    """One way of deploying: a compose project, a kustomize overlay, a directory of manifests,
    a deploy script. Alternatives (a second compose file, a ``kubernetes/`` folder beside a
    compose file) are separate units and are never compared with each other."""

    id: str
    kind: UnitKind
    location: Location

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class Mount:
    """A volume mounted into a service: ``persistent`` for named volumes, PVCs and bind mounts
    (shared by every process that mounts the same ``source``)."""

    source: str
    target: str
    persistent: bool


class FallbackKind(StrEnum):
    """What application code uses when a secret variable is unset."""

    RANDOM = "random"
    """A value generated per process (``os.urandom``, ``secrets.token_*``, ``uuid4`` ...)."""


@dataclass(frozen=True, slots=True)
class CodeRead:
    """Application code that makes a per-process secret: a read of ``variable`` with a random
    fallback, or (``variable`` None) a key generated at import time."""

    variable: str | None
    fallback: FallbackKind
    location: Location
    expression: str
    """The fallback as a short description (``os.urandom(32).hex()``); code, never a value."""


@dataclass(frozen=True, slots=True)
class ReaderView:
    """The same written value as seen by one delivery path (feeds KD501).

    ``reader`` is one of ``python-dotenv``, ``compose-env_file``, ``docker-run-env-file``,
    ``kubectl-from-env-file``, ``compose-interpolation``, ``k8s-secret-data``, ``mounted-file``.
    """

    reader: str
    value: SecretValue
    note: str


@_pickled_by_constructor
@dataclass(frozen=True, slots=True)
class Assignment:
    """A variable given a value somewhere.

    ``value`` is what the consuming process will see (``None``: an unresolvable reference, e.g.
    ``${VAR}`` left to the deploy shell or a Secret not in the scanned files); ``raw`` is the
    text as written before the delivery path transformed it. ``readers`` lists every delivery
    path's view of the same text when at least two of them differ, and is empty when all agree.
    ``service`` is ``None`` for file-level assignments (a ``.env`` line, a deploy script).
    """

    variable: str
    value: SecretValue | None
    location: Location
    source: str
    environment: str | None
    service: str | None = None
    chain: tuple[Step, ...] = ()
    raw: SecretValue | None = None
    template: bool = False
    literal: bool = True
    tracked: str | None = None
    readers: tuple[ReaderView, ...] = ()
    origins: tuple[Origin, ...] = ()
    """Every origin declared for this variable of this service, including declarations an
    override or a later entry replaced (so a replaced value is seen to disagree)."""
    default: bool = False
    """The value is a ``${VAR:-default}`` default: what runs wherever VAR is not set."""


@dataclass(slots=True)
class Service:
    """A process group that consumes secrets (compose service, k8s workload, deploy script)."""

    name: str
    platform: str
    environment: str | None
    location: Location
    image: str | None = None
    command: str | None = None
    """The command the container runs, when the deployment sets one (code, never a value)."""
    replicas: int = 1
    workers: int = 1
    env: dict[str, Assignment] = field(default_factory=dict)
    secret_files: dict[str, Assignment] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    presets: tuple[str, ...] = ()
    unit: str = ""
    """The id of the deployment unit this service belongs to (see :class:`Unit`)."""
    mounts: tuple[Mount, ...] = ()
    build_context: str | None = None
    """The build context directory (relative POSIX path) when the service builds its image."""
    dockerfile: str | None = None
    code: tuple[CodeRead, ...] = ()
    """Per-process secrets in the code this service runs (linked through its build)."""
    settings: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Values of variables that are not secret-like (``ENVIRONMENT``, ``*_CONFIG_DIR``...)."""

    @property
    def processes(self) -> int:
        """How many processes run this service's code (replicas x workers)."""
        return max(1, self.replicas) * max(1, self.workers)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file not checked, with a one-line reason (never containing a value)."""

    location: Location
    reason: str


@dataclass(frozen=True, slots=True)
class Effective:
    """Which secret service S uses in environment E for spec P (``variable`` None: missing)."""

    service: Service
    environment: str | None
    spec: SecretSpec
    variable: str | None
    assignment: Assignment | None
    shadowed: tuple[Assignment, ...] = ()


@dataclass
class Model:
    """Everything ``keydrift check`` knows about a tree; rules read only this."""

    root: str
    environments: list[str]
    production_like: frozenset[str]
    specs: list[SecretSpec]
    services: list[Service]
    assignments: list[Assignment]
    effective: list[Effective]
    skipped: list[Skipped]
    files: list[str]
    config: Config
    units: dict[str, Unit] = field(default_factory=dict)
    readers_in_use: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per env file: the delivery paths the repository really uses on it (``compose-env_file``,
    ``python-dotenv``, ``docker-run-env-file``, ``kubectl-from-env-file``...)."""
    code: list[CodeRead] = field(default_factory=list)
    """Every per-process secret found in code, linked to a service or not."""
    names: NameClassifier = field(default_factory=default_classifier, repr=False, compare=False)
    """How this check classifies variable names (built from its config and presets)."""
    _consumers: dict[tuple[str | None, Location], set[str]] | None = field(
        default=None, repr=False, compare=False
    )
    assessments: dict[str, Assessment] = field(default_factory=dict, repr=False, compare=False)
    """What the strength policy finds in each secret-like value, by fingerprint: judged while
    the files are read (so a forked reader shares the work), completed by the rules."""
    verdicts: dict[tuple[str, str], bool] = field(default_factory=dict, repr=False,
                                                  compare=False)
    """Whether each (fingerprint, variable) holds a value the strength policy can judge (not a
    number, flag, URL...), as found while the files were read; the rules compute the rest."""
    unmarked: frozenset[str] = field(default_factory=frozenset, repr=False, compare=False)
    """Checked files whose text never mentions ``keydrift``, so holds no suppression comment
    (noted while they were read; the others are read again for comments)."""
    memo: dict[str, dict[Any, Any]] = field(default_factory=dict, repr=False, compare=False)
    """Per-model caches for the rules (keyed by fingerprint or name, never holding a value):
    the same value is judged once, however many rules ask."""

    def consumers(self, variable: str | None, written_at: Location) -> tuple[str, ...]:
        """Names of services whose effective assignment of ``variable`` (``None``: of any
        variable) is written at ``written_at`` (the last step of its chain, else its location),
        sorted.

        Indexed once, so rules can ask for every assignment in linear total time.
        """
        if self._consumers is None:
            index: dict[tuple[str | None, Location], set[str]] = {}
            # Effective values cover the specs' variables; a service's own environment covers
            # every other variable it receives (a storage key, a password).
            pairs = [(e.service.name, e.assignment) for e in self.effective]
            pairs += [(s.name, b) for s in self.services for b in s.env.values()]
            for name, b in pairs:
                if b is not None:
                    where = b.chain[-1].location if b.chain else b.location
                    index.setdefault((b.variable, where), set()).add(name)
                    index.setdefault((None, where), set()).add(name)
            self._consumers = index
        return tuple(sorted(self._consumers.get((variable, written_at), ())))
