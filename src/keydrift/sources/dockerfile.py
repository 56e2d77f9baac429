"""Dockerfiles: ``ENV``/``ARG`` values of the final image, and the workers its command starts.

A secret baked into an image layer is readable by anyone who can pull the image, so these are
file-level assignments like a deploy script's. Only the final stage counts (and the stages it
is built ``FROM``): a builder stage's ``ARG`` never reaches the image that runs. Continuation
lines are joined; values are split with :mod:`shlex` as Docker does for ``ENV`` (quotes
removed). ``CMD``/``ENTRYPOINT`` give the worker count (``gunicorn -w 4``), which the pipeline
links to the compose services that build this Dockerfile.
"""

from __future__ import annotations

import json
import re

from keydrift.model.names import NameClassifier
from keydrift.model.types import Location
from keydrift.sources._support.cliargs import (
    WORKER_VARIABLES,
    logical_lines,
    split_command,
    workers_from_args,
)
from keydrift.sources._support.scriptsupport import ScriptCollector
from keydrift.sources.interface import ImageInfo, ReadContext, Source, SourceResult

__all__ = ["DockerfileSource"]

_NAME = re.compile(r"^(Dockerfile|Containerfile)([._-][\w.-]+)?$|\.(dockerfile|Dockerfile)$")
_INSTRUCTION = re.compile(r"^\s*(ENV|ARG|FROM|CMD|ENTRYPOINT)\s+(.*)$", re.IGNORECASE)


class DockerfileSource(Source):
    kind = "dockerfile"
    priority = 55
    max_bytes = 1024 * 1024

    def matches(self, path: str) -> bool:
        return bool(_NAME.search(path.rsplit("/", 1)[-1]))

    def wants(self, data: bytes, names: NameClassifier) -> bool:
        return True  # small, and their commands matter even without secrets

    def read(self, path: str, text: str, ctx: ReadContext) -> SourceResult:
        # Instructions per stage; a stage built FROM an earlier one inherits its ENV and ARG.
        stages: list[tuple[str | None, str, list[tuple[int, str, list[str]]]]] = []
        for line_no, line in logical_lines(text):
            m = _INSTRUCTION.match(line)
            if not m:
                continue
            instruction, rest = m.group(1).upper(), m.group(2).strip()
            if instruction == "FROM":
                parts = rest.split()
                image = parts[0] if parts else ""
                alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
                stages.append((alias, image, []))
                continue
            if not stages:
                stages.append((None, "", []))  # ARG before the first FROM
            stages[-1][2].append((line_no, instruction, _words(instruction, rest)))
        chain: list[list[tuple[int, str, list[str]]]] = []
        if stages:
            by_alias = {alias.lower(): (alias, image, body) for alias, image, body in stages if alias}
            current: tuple[str | None, str, list[tuple[int, str, list[str]]]] | None = stages[-1]
            seen: set[str] = set()
            while current is not None:
                chain.insert(0, current[2])
                parent = current[1].lower()
                if parent in seen:
                    break
                seen.add(parent)
                current = by_alias.get(parent)
        collector = ScriptCollector(path, ctx, self.kind)
        workers: int | None = None
        command_line = 1
        for body in chain:
            for line_no, instruction, words in body:
                if instruction in ("CMD", "ENTRYPOINT"):
                    found = workers_from_args(" ".join(words))
                    if found:
                        workers, command_line = found, line_no
                    continue
                if not words:
                    continue
                if "=" not in words[0]:
                    if instruction == "ENV" and len(words) >= 2:  # legacy `ENV NAME value`
                        collector.add(words[0], " ".join(words[1:]), line_no, f"ENV {words[0]}")
                    continue
                for word in words:
                    name, sep, value = word.partition("=")
                    if not sep:
                        continue
                    if name in WORKER_VARIABLES and value.strip().isdigit() and workers is None:
                        workers, command_line = int(value.strip()), line_no
                    computed = "$" in value
                    collector.add(
                        name, None if computed else value, line_no, f"{instruction} {name}",
                        literal=not computed,
                    )
        result = collector.finish()
        result.images.append(ImageInfo(path, workers, Location(path, command_line)))
        return result


def _words(instruction: str, rest: str) -> list[str]:
    """The exec form of CMD/ENTRYPOINT is a JSON array; everything else splits like a shell."""
    if instruction in ("CMD", "ENTRYPOINT") and rest.startswith("["):
        try:
            parsed = json.loads(rest)
        except ValueError:
            return split_command(rest)
        if isinstance(parsed, list):
            return [str(w) for w in parsed]
    return split_command(rest)
