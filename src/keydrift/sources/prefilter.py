"""Find the lines of a file worth parsing, fast.

A case-insensitive regex with many alternatives is slow in :mod:`re` (it retries every
alternative at every position), so we first find keyword occurrences with ``bytes.find`` on the
lower-cased bytes (C speed) and run the precise pattern only on those lines.
"""

from __future__ import annotations

import re
from functools import lru_cache

from keydrift.model.secretish import _extra_specs

__all__ = ["LinePrefilter"]

_BASE_WORDS = (
    b"secret", b"jwt", b"passw", b"passphrase", b"token", b"key", b"signing", b"encryption",
    b"hmac", b"credential",
)


@lru_cache(maxsize=16)
def _spec_words(templates: tuple[str, ...]) -> tuple[bytes, ...]:
    words = set(_BASE_WORDS)
    for template in templates:
        for piece in template.split("{ENV}"):
            piece = piece.strip("_").lower()
            if len(piece) >= 3 and not any(w in piece.encode() for w in _BASE_WORDS):
                words.add(piece.encode())
    return tuple(sorted(words))


class LinePrefilter:
    """``lines(data)``: 1-based numbers of lines that contain a keyword (or one of ``flags``) and
    match ``pattern``; ``any(data)`` stops at the first."""

    def __init__(self, pattern: re.Pattern[bytes], flags: tuple[bytes, ...] = ()) -> None:
        self.pattern = pattern
        self.flags = flags

    def _words(self) -> tuple[bytes, ...]:
        templates = tuple(t for s in _extra_specs for t in (*s.variables, *s.previous_variables))
        return _spec_words(templates) + self.flags

    def _spans(self, data: bytes, first_only: bool) -> list[tuple[int, int]]:
        low = data.lower()
        seen: set[int] = set()
        out: list[tuple[int, int]] = []
        size = len(low)
        for word in self._words():
            start = 0
            while True:
                i = low.find(word, start)
                if i < 0:
                    break
                line_start = low.rfind(b"\n", 0, i) + 1
                line_end = low.find(b"\n", i)
                line_end = size if line_end < 0 else line_end
                start = line_end + 1
                if line_start in seen:
                    continue
                seen.add(line_start)
                if self.pattern.search(data, line_start, line_end):
                    out.append((line_start, line_end))
                    if first_only:
                        return out
        return out

    def any(self, data: bytes) -> bool:
        return bool(self._spans(data, first_only=True))

    def lines(self, data: bytes) -> set[int]:
        return {data.count(b"\n", 0, start) + 1 for start, _ in self._spans(data, first_only=False)}
