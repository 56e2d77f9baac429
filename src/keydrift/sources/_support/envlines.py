"""python-dotenv's bindings of a ``.env`` text, with a fast path for plain ``KEY=value`` lines.

Why a hand-written path exists at all: python-dotenv's parser walks the text with about eight
regex calls and a ``re.findall`` line count per binding, which was ~40% of ``keydrift check`` on
a tree with fifty ``.env`` files of a few hundred variables. Most lines are ``KEY=value`` with a
plain value, and for those python-dotenv's answer is simply the text after ``=``. Such lines are
taken here with one regex; every other line (quotes, escapes, ``export``, ``#``, whitespace
around ``=``, non-ASCII, multi-line values ...) is handed to python-dotenv's own
``parse_binding`` at that position, so python-dotenv stays the arbiter. A differential test over
more than 100,000 generated lines (``tests/sources/test_envlines.py``) shows the same bindings as
``dotenv.parser.parse_stream``.

One deliberate difference: the line number is that of the key. python-dotenv counts the blank
lines before a binding into it and reports the first of them.
"""

from __future__ import annotations

import io
import re
from typing import NamedTuple

from dotenv.parser import Position, Reader, parse_binding

__all__ = ["EnvBinding", "SharedLine", "dotenv_bindings", "shared_lines"]


class EnvBinding(NamedTuple):
    """One binding: ``value`` is python-dotenv's (quotes stripped, escapes decoded, not
    interpolated), ``None`` for a ``KEY`` line without ``=``. ``original`` is the binding's
    text from its key to its end of line."""

    key: str
    value: str | None
    line: int
    original: str


# A plain line: an identifier, `=`, and printable ASCII other than quotes, `#` and backslash,
# not starting or ending with a space; then the end of the line. For these python-dotenv's
# value is exactly the text after `=` (no comment can start, nothing is stripped or decoded).
_VALUE_CHAR = r"[!$-&(-\[\]-~]"
_PLAIN_VALUE = _VALUE_CHAR + r"(?:[ !$-&(-\[\]-~]*" + _VALUE_CHAR + r")?"
_PLAIN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=((?:" + _PLAIN_VALUE + r")?)(\r\n|\n|\r|\Z)")
# Lines every reader (python-dotenv, Compose, `docker run --env-file`) splits alike: empty,
# a `#` comment, or `KEY=` and a plain value, or a quoted one without backslashes or line
# breaks, then perhaps spaces and a comment (a plain value must not be empty then: Compose
# would take the comment as the value).
_COMMENT = r"(?: +#[^\n\r]*)?"
_SHARED_BINDING = (
    r"([A-Za-z_][A-Za-z0-9_]*)=(?:\"([^\"\\\n\r]*)\"" + _COMMENT + r"|'([^'\\\n\r]*)'" + _COMMENT
    + r"|(" + _PLAIN_VALUE + r")" + _COMMENT + r"|)"
)
_SHARED_LINE = r"(?:#[^\n\r]*|" + _SHARED_BINDING + r")?"
_SHARED_TEXT = re.compile(r"(?:" + _SHARED_LINE + r"\n)*" + _SHARED_LINE)
_BINDING_LINE = re.compile(r"(?m)^" + _SHARED_BINDING + r"$")
# python-dotenv skips `\s*` (any Unicode whitespace, line breaks included) before a binding.
_SPACE = re.compile(r"\s*")


def _newlines(text: str, start: int, end: int) -> int:
    """Line breaks in ``text[start:end]`` as python-dotenv counts them (``\\r\\n``, ``\\n``, ``\\r``)."""
    return text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)


def dotenv_bindings(text: str) -> list[EnvBinding]:
    """Every binding python-dotenv's ``parse_stream`` yields with a key and without an error,
    in order."""
    text = text.removeprefix("\ufeff")
    out: list[EnvBinding] = []
    n = len(text)
    pos = 0
    line = 1
    reader: Reader | None = None
    plain = _PLAIN.match
    space = _SPACE.match
    while pos < n:
        ws = space(text, pos)
        if ws is not None and ws.end() > pos:  # always matches; may be empty
            line += _newlines(text, pos, ws.end())
            pos = ws.end()
            if pos >= n:
                break
        m = plain(text, pos)
        if m is not None:
            out.append(EnvBinding(m.group(1), m.group(2), line, m.group(0)))
            pos = m.end()
            if m.group(3):
                line += 1
            continue
        if text[pos] == "#":
            # a comment line: python-dotenv reads it as a binding without a key
            end = _line_end(text, pos)
            line += _newlines(text, pos, end)
            pos = end
            continue
        if reader is None:
            reader = Reader(io.StringIO(""))
            reader.string = text  # not through the constructor: it would strip a second BOM
        reader.position = Position(pos, line)
        binding = parse_binding(reader)
        end = reader.position.chars
        if binding.key is not None and not binding.error:
            out.append(EnvBinding(binding.key, binding.value, line, text[pos:end]))
        line = reader.position.line
        pos = end
    return out


class SharedLine(NamedTuple):
    """A binding every reader splits alike: ``value`` is the text between the quotes (``quote``
    is ``"``, ``'`` or empty), comment and spaces before it left out; ``original`` is the line,
    its line break included."""

    key: str
    value: str
    quote: str
    line: int
    original: str


def shared_lines(text: str) -> list[SharedLine] | None:
    """The bindings of ``text`` when every line is one every reader splits alike (see
    ``_SHARED_LINE``), else ``None``: the text is then parsed by each reader's own rules.
    The differential tests against python-dotenv and the Compose parser
    (``tests/sources/test_envlines.py``) hold this path to them."""
    if _SHARED_TEXT.fullmatch(text) is None:
        return None
    out: list[SharedLine] = []
    line = 1
    at = 0
    n = len(text)
    for m in _BINDING_LINE.finditer(text):
        start, end = m.span()
        line += text.count("\n", at, start)
        at = start
        key, double, single, plain = m.group(1, 2, 3, 4)
        original = text[start : end + 1] if end < n else text[start:end]
        if double is not None:
            out.append(SharedLine(key, double, '"', line, original))
        elif single is not None:
            out.append(SharedLine(key, single, "'", line, original))
        else:
            out.append(SharedLine(key, plain or "", "", line, original))
    return out


def _line_end(text: str, pos: int) -> int:
    """Just past the line break ending the line at ``pos`` (python-dotenv's ``_end_of_line``)."""
    lf = text.find("\n", pos)
    cr = text.find("\r", pos)
    if cr >= 0 and (lf < 0 or cr < lf):
        return cr + 2 if text.startswith("\r\n", cr) else cr + 1
    return lf + 1 if lf >= 0 else len(text)
