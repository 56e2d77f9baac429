"""The reader interface: :class:`Source`, its :class:`ReadContext` and :class:`SourceResult`.

A reader is a :class:`Source` subclass in its own module under ``keydrift.sources``. Discovery
asks each reader, by file name only, whether it :meth:`~Source.matches`; then, on the bytes, whether
it :meth:`~Source.wants` them (a cheap byte search so most files are never parsed); then calls
:meth:`~Source.read`. :func:`all_sources` imports every module of the package, so adding a reader
needs no change elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar, TypeVar, cast

from keydrift.model.config import Config
from keydrift.model.names import NameClassifier
from keydrift.model.types import Assignment, CodeRead, Location, Service, Skipped, Unit

__all__ = [
    "OUTSIDE_REASON",
    "ImageInfo",
    "KeyStore",
    "ParseCache",
    "PendingRef",
    "ReadContext",
    "Source",
    "SourceResult",
    "UnreadableFile",
    "all_sources",
]

# Why a referenced file was not read: it resolves (through `..`, an absolute path or a symlink)
# outside the directories named on the command line.
OUTSIDE_REASON = "outside the checked tree (after resolving symlinks), not read"


class UnreadableFile(Exception):
    """A file a reader needed could not be read or parsed; ``reason`` is one line, no values."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass
class KeyStore:
    """A Kubernetes Secret or ConfigMap: keys to values, for references from pod templates."""

    kind: str  # "Secret" | "ConfigMap"
    name: str
    namespace: str | None
    environment: str | None
    location: Location
    data: dict[str, Assignment] = field(default_factory=dict)


@dataclass
class PendingRef:
    """A pod-template reference to a :class:`KeyStore`, linked once every file is read.

    ``key`` is ``None`` for ``envFrom`` (every key, with ``prefix``); ``variable`` is then empty.
    """

    service: Service
    variable: str
    kind: str  # "Secret" | "ConfigMap"
    name: str
    key: str | None
    namespace: str | None
    location: Location
    prefix: str = ""
    mount: bool = False  # a secret volume: ``variable`` is the file path in the container
    shadow: frozenset[str] = frozenset()  # envFrom: names that ``env:`` sets (env wins)


@dataclass
class SourceResult:
    """What one reader found in one file."""

    assignments: list[Assignment] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    stores: list[KeyStore] = field(default_factory=list)
    refs: list[PendingRef] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # other files read on the way (env_file, include)
    included: list[str] = field(default_factory=list)  # files used as parts of this one (include:)
    # HorizontalPodAutoscaler targets: (workload name, namespace, max replicas)
    scalers: list[tuple[str, str | None, int]] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    code: list[CodeRead] = field(default_factory=list)  # per-process secrets in application code
    images: list[ImageInfo] = field(default_factory=list)  # what Dockerfiles build
    # `docker compose -f a.yml -f b.yml` seen in a script, Makefile or README: files read together
    compose_stacks: list[tuple[str, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class ImageInfo:
    """What a Dockerfile's final stage runs: worker count from ``CMD``/``ENTRYPOINT``
    (``gunicorn -w 4``, ``uvicorn --workers 4``, ``WEB_CONCURRENCY``) and its build context."""

    dockerfile: str
    workers: int | None
    location: Location


_T = TypeVar("_T")


class ParseCache:
    """What one run has parsed, by parser and path: a file that several readers or services
    name (a ``.env`` behind ten ``env_file:`` entries) is parsed once. One per run, handed to
    every reader in its :class:`ReadContext`; nothing is kept between runs."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], object] = {}

    def get(self, parser: str, path: str, parse: Callable[[], _T]) -> _T:
        """The cached result for ``(parser, path)``, made with ``parse()`` the first time
        (an exception is not cached)."""
        key = (parser, path)
        if key not in self._items:
            self._items[key] = parse()
        return cast(_T, self._items[key])


@dataclass
class ReadContext:
    """What a reader may know besides the file's text.

    ``read_text`` reads another file of the tree (relative POSIX path) through discovery's
    cache, so every file is read at most once; it raises :class:`UnreadableFile`. ``parsed``
    is the run's :class:`ParseCache`.
    """

    root: str
    path: str
    environment: str | None
    template: bool
    tracked: str | None
    config: Config
    files: frozenset[str]
    read_text: Callable[[str], str]
    environment_of: Callable[[str], str | None]
    tracked_of: Callable[[str], str | None]
    names: NameClassifier
    compose_stacks: Callable[[str], tuple[tuple[str, ...], ...]] = lambda path: ()
    """``-f`` combinations (in order) that name ``path`` among other compose files."""
    parsed: ParseCache = field(default_factory=ParseCache)

    def is_secret(self, name: str) -> bool:
        return self.names.is_secret(name)

    def is_recorded(self, name: str) -> bool:
        return self.names.is_recorded(name)


class Source:
    """A reader for one kind of file. Subclasses set ``kind`` and implement :meth:`read`."""

    kind: ClassVar[str]
    priority: ClassVar[int] = 100  # lower runs first and claims the file
    max_bytes: ClassVar[int] = 10 * 1024 * 1024  # larger files are skipped before reading
    stdin_ok: ClassVar[bool] = False

    def matches(self, path: str) -> bool:
        """Decide by the relative path alone whether this reader owns the file."""
        raise NotImplementedError

    def wants(self, data: bytes, names: NameClassifier) -> bool:
        """A cheap look at the bytes; ``False`` means the file cannot matter (not parsed)."""
        return True

    def sniff(self, text: str) -> bool:
        """For stdin: does ``text`` look like this reader's format?"""
        return False

    def read(self, path: str, text: str, ctx: ReadContext) -> SourceResult:
        """Read ``text`` (the content of ``path``). Raise :class:`UnreadableFile` to skip it."""
        raise NotImplementedError


@cache
def all_sources() -> tuple[Source, ...]:
    """One instance of every reader in this package, by priority."""
    from keydrift._plugins import discover

    found: dict[str, Source] = {
        s.kind: s
        for s in discover("keydrift.sources", Source, accept=lambda cls: "kind" in vars(cls))
    }
    return tuple(sorted(found.values(), key=lambda s: (s.priority, s.kind)))
