"""JSON configuration files of services (``config.json``, ``config.example.json``): secret-like
top-level keys such as a websocket server's ``jwtSecret``.

Read with :mod:`json` (bounded: a config file is small, and nesting is refused past a depth a
config never reaches). Each secret-like string value becomes a file-level assignment under the
key's name; the pipeline gives it to the services that mount or build the directory holding the
file, so a JSON key can be compared with the environment variable another service reads.
"""

from __future__ import annotations

import json
import re

from keydrift.model.names import NameClassifier
from keydrift.model.types import Assignment, Location, Step
from keydrift.secret import SecretValue
from keydrift.sources.interface import ReadContext, Source, SourceResult, UnreadableFile

__all__ = ["JsonConfigSource"]

_NAME = re.compile(r"(^|[._-])config([._-][\w.-]*)?\.json$", re.IGNORECASE)


class JsonConfigSource(Source):
    kind = "json-config"
    priority = 45
    max_bytes = 256 * 1024

    def matches(self, path: str) -> bool:
        return bool(_NAME.search(path.rsplit("/", 1)[-1]))

    def wants(self, data: bytes, names: NameClassifier) -> bool:
        low = data.lower()
        return any(word in low for word in names.words)

    def read(self, path: str, text: str, ctx: ReadContext) -> SourceResult:
        try:
            doc = json.loads(text)
        except RecursionError:
            raise UnreadableFile("JSON nested too deeply") from None
        except ValueError as exc:
            raise UnreadableFile("invalid JSON", getattr(exc, "lineno", None)) from None
        result = SourceResult()
        if not isinstance(doc, dict):
            return result
        lines = text.splitlines()
        for key, value in doc.items():
            if not isinstance(key, str) or not isinstance(value, str) or not ctx.is_secret(key):
                continue
            line = next((i for i, t in enumerate(lines, 1) if f'"{key}"' in t), None)
            where = Location(path, line)
            result.assignments.append(Assignment(
                variable=key,
                value=SecretValue(value),
                location=where,
                source=self.kind,
                environment=ctx.environment,
                chain=(Step(where, f"{key} in {path}"),),
                raw=SecretValue(value),
                template=ctx.template,
                literal=True,
                tracked=ctx.tracked,
            ))
        return result
