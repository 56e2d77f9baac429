"""``.env`` files (``.env``, ``.env.*``, ``*.env``) through python-dotenv's own parser.

For every binding we keep the line and how each delivery path reads the same line: python-dotenv
and compose ``env_file`` strip quotes (and interpolate), ``docker run --env-file`` and
``kubectl create secret --from-env-file`` keep everything after ``=`` as written.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from dotenv.parser import parse_stream
from dotenv.variables import parse_variables

from keydrift.model.types import Assignment, Location, ReaderView
from keydrift.secret import SecretValue
from keydrift.sources._support.envinfer import environment_from_variable
from keydrift.sources._support.interpolation import interpolate
from keydrift.sources.interface import ReadContext, Source, SourceResult

__all__ = ["DotenvEntry", "DotenvSource", "parse_dotenv", "reader_views"]

@dataclass(frozen=True)
class DotenvEntry:
    """One ``KEY=value`` line as several readers see it."""

    key: str
    line: int
    dotenv: str | None  # python-dotenv (quotes stripped, ${VAR} interpolated); None: `KEY` alone
    compose: str | None  # compose env_file (quotes stripped, $VAR/${VAR} interpolated unless '...')
    literal: str | None  # everything after `=` as written (docker run / kubectl --from-env-file)
    parsed: str | None  # python-dotenv's value before interpolation
    multiline: bool


def parse_dotenv(text: str) -> list[DotenvEntry]:
    """Every binding of a ``.env`` text, in order (later duplicates win, as with every reader)."""
    out: list[DotenvEntry] = []
    py_env: dict[str, str | None] = {}
    compose_env: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.key is None or binding.error:
            continue
        key = binding.key
        value = binding.value
        original = binding.original.string
        body = original.rstrip("\r\n")
        multiline = "\n" in body
        literal: str | None = None
        single_quoted = False
        if value is not None:
            eq = body.find("=")
            rhs = body[eq + 1 :] if eq >= 0 else ""
            literal = rhs.split("\n", 1)[0].rstrip("\r")
            single_quoted = rhs.lstrip().startswith("'")
        if value is None:
            dotenv_value: str | None = None
            compose_value: str | None = None
        else:
            if "$" in value:
                atoms = parse_variables(value)
                dotenv_value = "".join(atom.resolve(py_env) for atom in atoms)
            else:
                dotenv_value = value
            if single_quoted or "$" not in value:
                compose_value = value
            else:
                compose_value = interpolate(value, compose_env.get).text
        py_env[key] = dotenv_value
        if compose_value is not None:
            compose_env[key] = compose_value
        out.append(
            DotenvEntry(key, binding.original.line, dotenv_value, compose_value, literal, value, multiline)
        )
    return out


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
        for entry in parse_dotenv(text):
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
