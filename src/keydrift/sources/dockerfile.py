"""Dockerfiles: ``ENV NAME=value`` / ``ENV NAME value`` and ``ARG NAME=default``.

A secret baked into an image layer is readable by anyone who can pull the image, so these are
file-level assignments like a deploy script's. Continuation lines are joined; values are split
with :mod:`shlex` as Docker does for ``ENV`` (quotes removed).
"""

from __future__ import annotations

import re

from keydrift.model.names import NameClassifier
from keydrift.sources._support.cliargs import logical_lines, split_command
from keydrift.sources._support.scriptsupport import ScriptCollector
from keydrift.sources.interface import ReadContext, Source, SourceResult

__all__ = ["DockerfileSource"]

_NAME = re.compile(r"^(Dockerfile|Containerfile)([._-][\w.-]+)?$|\.(dockerfile|Dockerfile)$")
_INSTRUCTION = re.compile(r"^\s*(ENV|ARG)\s+(.*)$", re.IGNORECASE)


class DockerfileSource(Source):
    kind = "dockerfile"
    priority = 55
    max_bytes = 1024 * 1024

    def matches(self, path: str) -> bool:
        return bool(_NAME.search(path.rsplit("/", 1)[-1]))

    def wants(self, data: bytes, names: NameClassifier) -> bool:
        return b"ENV" in data.upper() or b"ARG" in data.upper()

    def read(self, path: str, text: str, ctx: ReadContext) -> SourceResult:
        collector = ScriptCollector(path, ctx, self.kind)
        for line_no, line in logical_lines(text):
            m = _INSTRUCTION.match(line)
            if not m:
                continue
            instruction, rest = m.group(1).upper(), m.group(2).strip()
            words = split_command(rest)
            if not words:
                continue
            if "=" not in words[0]:
                if instruction == "ENV" and len(words) >= 2:  # legacy `ENV NAME value`
                    collector.add(words[0], " ".join(words[1:]), line_no, f"ENV {words[0]}")
                continue
            for word in words:
                name, sep, value = word.partition("=")
                if sep:
                    computed = "$" in value
                    collector.add(
                        name, None if computed else value, line_no, f"{instruction} {name}",
                        literal=not computed,
                    )
        return collector.finish()
