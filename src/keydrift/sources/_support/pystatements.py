"""A Python module cut down to the top-level statements that span given lines, for parsing.

Why this is hand-written: a 3,500-line settings module of which 200 lines can hold a secret
cost ~40 ms in :func:`ast.parse`, nearly all of it spent on statements the reader then skips
(it walks only statements spanning a candidate line). Parsing only those statements needs
their boundaries, and CPython 3.11 exposes no tokenizer in C: :mod:`tokenize` is pure Python
and three times slower than parsing the whole file. What decides where a top-level statement
starts is small, though: a line beginning in column 0 outside brackets, strings and ``\\``
continuations. One regex skips what cannot hide a line start and stops only at brackets,
multi-line strings and continuations; the Python loop sees those alone. The kept statements
keep their line and column numbers (the lines between them become empty), so the tree
:func:`ast.parse` gives for them is node for node the one it gives for the whole file.
``tests/sources/test_pystatements.py`` checks that against :func:`ast.parse` over the modules
of the standard library and installed packages, with random line sets.

Anything the scan is not sure of (an unterminated string, unbalanced brackets, a stray
backslash, ``\\r`` or form-feed line breaks, NUL bytes) gives ``None``: the caller parses the
whole file, and so does it when the cut-down text does not parse.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable

__all__ = ["statement_source"]

# What can never hide a line start: code without brackets, quotes, `#` or backslashes; strings
# that stay on their line (a backslash escapes the next character in every kind of string, raw
# ones included, as far as where the string ends is concerned); comments; and bracket pairs
# on one line holding no other brackets. One match of `_LEX` skips a run of these
# (possessively: no backtracking), then takes one token that matters, or the end of the text.
# Skipping one-line bracket pairs whole leaves about a fifth of the tokens to the Python loop.
# A one-line string is not the start of a triple-quoted one.
_LINE_STRING = (
    r'"(?!"")[^"\\\n]*+(?:\\[^\n][^"\\\n]*+)*+"' + r"|'(?!'')[^'\\\n]*+(?:\\[^\n][^'\\\n]*+)*+'"
)
_IN_PAIR = r"(?:[^\"'#()\[\]{}\\\n]++|" + _LINE_STRING + r")*+"
_PAIR = rf"\({_IN_PAIR}\)|\[{_IN_PAIR}\]|\{{{_IN_PAIR}\}}"
_SKIP = r"(?:[^\"'#()\[\]{}\\]++|" + _LINE_STRING + r"|#[^\n]*+|" + _PAIR + r")*+"
_LEX = re.compile(
    _SKIP + r"(?:"
    # 1: a string over several lines (triple-quoted, or continued after a backslash)
    r'("""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    r"|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
    r'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
    r"|'[^'\\\n]*(?:\\.[^'\\\n]*)*')"
    r"|([(\[{])|([)\]}])|(\\\n)"  # 2, 3, 4: an opening or closing bracket, a continuation
    r"|([\"'\\])"  # 5: a lone quote or backslash, not understood
    r"|\Z)",
    re.S,
)
# A line that may begin a statement: it starts with code in column 0. Group 1: a clause that
# continues the statement above it; group 2: a decorator, which the next line's statement joins.
_LINE_CODE = re.compile(r"^(?:(else|elif|except|finally)\b|(@)|(?=[^\s#)\]}]))", re.M)


def _hidden_spans(text: str) -> list[tuple[int, int]] | None:
    """Spans ``(start, end)`` inside which a line start begins no statement: bracketed
    expressions, multi-line strings and ``\\`` continuations, at the top level, in order."""
    spans: list[tuple[int, int]] = []
    depth = 0
    opened = 0
    for m in _LEX.finditer(text):
        kind = m.lastindex
        if kind is None:  # the end of the text
            break
        if kind == 2:
            if depth == 0:
                opened = m.start(2)
            depth += 1
        elif kind == 3:
            depth -= 1
            if depth < 0:
                return None
            if depth == 0 and text.find("\n", opened, m.end()) >= 0:
                spans.append((opened, m.end()))
        elif kind == 1:
            if depth == 0 and text.find("\n", m.start(1), m.end()) >= 0:
                spans.append((m.start(1), m.end()))
        elif kind == 4:
            if depth == 0:
                spans.append((m.start(4), m.end() + 1))
        else:
            return None
    return None if depth else spans


def _statement_starts(text: str) -> tuple[list[int], list[int]] | None:
    """The 1-based lines on which a top-level statement starts, and where in ``text`` each
    starts (a decorated definition starts at its first decorator; ``else:`` and the like
    start none)."""
    spans = _hidden_spans(text)
    if spans is None:
        return None
    lines: list[int] = []
    offsets: list[int] = []
    k = 0
    line = 1
    at = 0
    after_decorator = False
    for m in _LINE_CODE.finditer(text):
        pos = m.start()
        while k < len(spans) and spans[k][1] <= pos:
            k += 1
        if k < len(spans) and spans[k][0] < pos:
            continue
        kind = m.lastindex
        joins = after_decorator or kind == 1
        after_decorator = kind == 2
        if not joins:
            line += text.count("\n", at, pos)  # counted forward: one pass over the text
            at = pos
            lines.append(line)
            offsets.append(pos)
    return lines, offsets


def statement_source(text: str, lines: Iterable[int]) -> str | None:
    """``text`` with every top-level statement that spans none of ``lines`` replaced by
    empty lines (so what remains keeps its line and column numbers), or ``None`` when the
    statements cannot be told apart here."""
    if "\r" in text or "\f" in text or "\0" in text:
        return None
    found = _statement_starts(text)
    if found is None:
        return None
    starts, offsets = found
    keep: list[tuple[int, int]] = []  # statement indices [first, end), -1: the text's start
    for line in sorted(set(lines)):
        i = bisect_right(starts, line) - 1
        if keep and keep[-1][1] >= i:
            keep[-1] = (keep[-1][0], max(keep[-1][1], i + 1))
        else:
            keep.append((i, i + 1))
    pieces: list[str] = []
    at = 1  # the line the text built so far ends on
    for first, end in keep:
        start_line, start = (starts[first], offsets[first]) if first >= 0 else (1, 0)
        stop = offsets[end] if end < len(offsets) else len(text)
        pieces.append("\n" * (start_line - at))
        piece = text[start:stop]
        pieces.append(piece)
        at = start_line + piece.count("\n")
    return "".join(pieces)
