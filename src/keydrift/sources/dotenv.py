"""``.env`` files (``.env``, ``.env.*``, ``*.env``), as each program that reads them sees them.

For every binding we keep the line and how each delivery path reads it:

* ``dotenv``: python-dotenv (Python apps calling ``load_dotenv``): quotes stripped, ``${VAR}``
  interpolated from earlier lines, single quotes included;
* ``compose``: Docker Compose (the project ``.env`` and ``env_file:``), with compose-go's own
  rules (:mod:`~keydrift.sources._support.composeenv`): ``\\$`` and octal escapes in double
  quotes, ``KEY: value``, a tab before ``#`` is no comment, single quotes literal;
* ``literal``: ``docker run --env-file`` and ``kubectl create secret --from-env-file``, which keep
  everything after ``=`` as written.

A file is parsed once per run, whatever number of readers and services name it
(:func:`dotenv_file`, through the read context's parse cache).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from dotenv.variables import parse_variables

from keydrift.model.types import Assignment, Location, ReaderView
from keydrift.secret import SecretValue
from keydrift.sources._support.composeenv import (
    ComposeBinding,
    ComposeEnvError,
    ComposeValue,
    Kind,
    parse_compose_env,
    resolve_compose_env,
)
from keydrift.sources._support.envinfer import environment_from_variable
from keydrift.sources._support.envlines import EnvBinding, dotenv_bindings, shared_lines
from keydrift.sources.interface import ReadContext, Source, SourceResult

__all__ = [
    "ComposeEnvError",
    "DotenvEntry",
    "DotenvFile",
    "DotenvSource",
    "dotenv_file",
    "parse_dotenv",
    "reader_views",
]


_COMPOSE_KIND: dict[str, Kind] = {"": "unquoted", '"': "double", "'": "single"}


class DotenvEntry(NamedTuple):
    """One ``KEY=value`` line as several readers see it (a tuple: a tree's ``.env`` files hold
    tens of thousands of them)."""

    key: str
    line: int
    dotenv: str | None  # python-dotenv (quotes stripped, ${VAR} interpolated); None: not a binding
    compose: str | None  # Compose (compose-go rules); None: Compose does not set it / refuses
    literal: str | None  # everything after `=` as written (docker run / kubectl --from-env-file)
    parsed: str | None  # python-dotenv's value before interpolation
    multiline: bool
    # ${X} that nothing known sets (Compose makes them ""), and ${X:?} ones (Compose refuses to
    # start unless the deploy shell sets X)
    compose_missing: tuple[str, ...] = ()
    compose_required: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordedEntry:
    """An entry a reader records, with what every service naming the file shares (built once
    per file, not once per service)."""

    entry: DotenvEntry
    value: SecretValue  # Compose's value
    raw: SecretValue | None  # as written after `=`
    readers: tuple[ReaderView, ...]


@dataclass(frozen=True)
class EnvSplit:
    """Compose's view of an env file, split by the run's name classifier: the values of names
    readers do not record (kept as plain text: ``ENVIRONMENT``, worker counts) and the rest."""

    plain: dict[str, str]
    recorded: list[RecordedEntry]


@dataclass
class DotenvFile:
    """A parsed ``.env`` text: python-dotenv's bindings and Compose's statements (or why
    Compose refuses the file)."""

    bindings: list[EnvBinding]
    compose: list[ComposeBinding] | None
    compose_error: ComposeEnvError | None
    _default: list[DotenvEntry] | None = field(default=None, repr=False)
    _split: EnvSplit | None = field(default=None, repr=False)
    _values: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, text: str) -> DotenvFile:
        shared = shared_lines(text)
        if shared is not None:  # most files: python-dotenv and Compose split each line alike
            return cls(
                [EnvBinding(b.key, b.value, b.line, b.original) for b in shared],
                [ComposeBinding(b.key, b.line, _COMPOSE_KIND[b.quote], b.value) for b in shared],
                None,
            )
        try:
            statements: list[ComposeBinding] | None = parse_compose_env(text)
            error = None
        except ComposeEnvError as exc:
            statements, error = None, exc
        return cls(dotenv_bindings(text), statements, error)

    @cached_property
    def static(self) -> bool:
        """Compose's values do not depend on any lookup (no ``$``, no ``KEY`` line alone)."""
        return self.compose is not None and all(
            b.kind == "single" or (b.kind != "inherited" and "$" not in (b.template or ""))
            for b in self.compose
        )

    def entries(self) -> list[DotenvEntry]:
        """Every binding, Compose's view resolved as for the project ``.env`` with an empty
        shell (earlier lines only). Computed once. A file Compose refuses has ``compose=None``."""
        if self._default is None:
            if self.compose is None:
                self._default = self._merge(None)
            else:
                try:
                    self._default = self._merge(
                        resolve_compose_env(self.compose, None, inherit_from_known=True)
                    )
                except ComposeEnvError as exc:
                    self.compose_error = exc
                    self._default = self._merge(None)
        return self._default

    def for_compose(
        self,
        lookup: Callable[[str], str | None] | None = None,
        known: dict[str, str] | None = None,
        *,
        env_file: bool = True,
    ) -> list[DotenvEntry]:
        """The entries with Compose's view resolved with ``lookup`` first, then ``known`` (values
        read earlier, updated here); see :func:`~keydrift.sources._support.composeenv.
        resolve_compose_env`. ``env_file`` is False for the project ``.env``. Raises
        :class:`ComposeEnvError` when Compose refuses the file."""
        if self.compose is None:
            assert self.compose_error is not None
            raise self.compose_error
        if self.static:
            entries = self.entries()
            if known is not None:
                if self._values is None:
                    self._values = {e.key: e.compose for e in entries if e.compose is not None}
                known.update(self._values)
            return entries
        values = resolve_compose_env(self.compose, lookup, known=known, inherit_from_known=not env_file)
        return self._merge(values)

    def split(self, entries: list[DotenvEntry], is_recorded: Callable[[str], bool]) -> EnvSplit:
        """``entries`` (from :meth:`for_compose`) split by ``is_recorded``. For a file whose
        values do not depend on the service, computed once however many services name it."""
        reuse = entries is self._default
        if reuse and self._split is not None:
            return self._split
        plain: dict[str, str] = {}
        recorded: list[RecordedEntry] = []
        for e in entries:
            if e.compose is None:
                continue
            if not is_recorded(e.key):
                plain[e.key] = e.compose
                continue
            recorded.append(
                RecordedEntry(
                    e,
                    SecretValue(e.compose),
                    SecretValue(e.literal) if e.literal is not None else None,
                    reader_views(e),
                )
            )
        out = EnvSplit(plain, recorded)
        if reuse:
            self._split = out
        return out

    @cached_property
    def _python_dotenv(self) -> list[tuple[str | None, str | None, bool]]:
        """Per binding: python-dotenv's value, the text after ``=`` and whether it spans
        lines. Computed once: only Compose's side depends on who reads the file (a file with
        ``${VAR}`` lines is resolved again for each service that names it)."""
        out: list[tuple[str | None, str | None, bool]] = []
        py_env: dict[str, str | None] = {}
        for b in self.bindings:
            value = b.value
            dotenv_value: str | None
            literal: str | None = None
            if value is None:
                dotenv_value = None
            else:
                if "${" in value:
                    dotenv_value = "".join(atom.resolve(py_env) for atom in parse_variables(value))
                else:
                    dotenv_value = value
                body = b.original.rstrip("\r\n")
                rhs = body[body.find("=") + 1 :]
                literal = rhs.split("\n", 1)[0].rstrip("\r")
            py_env[b.key] = dotenv_value
            out.append((dotenv_value, literal, "\n" in b.original.rstrip("\r\n")))
        return out

    def _merge(self, values: list[ComposeValue] | None) -> list[DotenvEntry]:
        bindings = self.bindings
        composed: dict[tuple[int, str], tuple[str | None, tuple[str, ...], tuple[str, ...]]] = {}
        paired: list[ComposeValue] | None = None
        if values is not None:
            if len(values) == len(bindings) and all(
                v.binding.line == b.line and v.binding.key == b.key
                for v, b in zip(values, bindings, strict=True)
            ):
                paired = values  # both parsers saw the same lines (nearly every file)
            else:
                for v in values:
                    composed[(v.binding.line, v.binding.key)] = (
                        v.value, v.missing, v.required_missing
                    )
        out: list[DotenvEntry] = []
        for i, (b, (dotenv_value, literal, multiline)) in enumerate(
            zip(bindings, self._python_dotenv, strict=True)
        ):
            if paired is not None:
                v = paired[i]
                compose_value, missing, required = v.value, v.missing, v.required_missing
            else:
                compose_value, missing, required = composed.pop((b.line, b.key), (None, (), ()))
            out.append(
                DotenvEntry(b.key, b.line, dotenv_value, compose_value, literal, b.value,
                            multiline, missing, required)
            )
        # Bindings only Compose sees (`KEY: value`, a line python-dotenv cannot parse)
        for (line, key), (compose_value, missing, required) in composed.items():
            if key and compose_value is not None:
                out.append(DotenvEntry(key, line, None, compose_value, None, None, False, missing, required))
        if len(out) > len(bindings):
            out.sort(key=lambda e: e.line)
        return out


def dotenv_file(ctx: ReadContext, path: str, text: str) -> DotenvFile:
    """``path`` (whose content is ``text``) parsed, once per run."""
    return ctx.parsed.get("dotenv", path, lambda: DotenvFile.parse(text))


def parse_dotenv(text: str) -> list[DotenvEntry]:
    """Every binding of a ``.env`` text, in order (later duplicates win, as with every reader)."""
    return DotenvFile.parse(text).entries()


def reader_views(entry: DotenvEntry) -> tuple[ReaderView, ...]:
    """Every reader's view of ``entry`` when at least two differ, else ``()``."""
    if entry.dotenv is None or entry.literal is None:
        return ()
    views = [
        ("python-dotenv", entry.dotenv, "quotes stripped, ${VAR} interpolated"),
        ("compose-env_file", entry.compose or "", "quotes stripped, $VAR interpolated"),
    ]
    if not entry.multiline:
        views.append(("docker-run-env-file", entry.literal, "everything after '=' kept, quotes too"))
        views.append(("kubectl-from-env-file", entry.literal, "everything after '=' kept, quotes too"))
    if len({v for _, v, _ in views}) < 2:
        return ()
    return tuple(ReaderView(r, SecretValue(v), note) for r, v, note in views)


class DotenvSource(Source):
    """``.env``, ``.env.<env>``, ``<env>.env`` and their templates."""

    kind = "dotenv"
    max_bytes = 1 * 1024 * 1024
    priority = 10
    stdin_ok = False

    def matches(self, path: str) -> bool:
        name = path.rsplit("/", 1)[-1]
        return name == ".env" or name.startswith(".env.") or name.endswith(".env")

    def read(self, path: str, text: str, ctx: ReadContext) -> SourceResult:
        result = SourceResult()
        for entry in dotenv_file(ctx, path, text).entries():
            if entry.dotenv is None or not ctx.is_secret(entry.key):
                continue
            env = ctx.environment or environment_from_variable(entry.key, ctx.config.environments)
            result.assignments.append(
                Assignment(
                    variable=entry.key,
                    value=SecretValue(entry.dotenv),
                    location=Location(path, entry.line),
                    source=self.kind,
                    environment=env,
                    raw=SecretValue(entry.literal) if entry.literal is not None else None,
                    template=ctx.template,
                    # single-quoted values are literal, `$` included (python-dotenv, compose)
                    literal=entry.parsed is not None and (
                        "$" not in entry.parsed or (entry.literal or "").lstrip().startswith("'")
                    ),
                    tracked=ctx.tracked,
                    readers=reader_views(entry),
                )
            )
        return result
