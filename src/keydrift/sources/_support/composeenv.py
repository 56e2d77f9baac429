"""``.env`` and ``env_file`` text as Docker Compose reads it (compose-go's ``dotenv`` rules).

Hand-written because no Python library implements compose-go's dialect, and python-dotenv (the
reader Python apps use) differs from it on about one line in ten: inside double quotes ``\\$``
is a literal ``$`` and ``\\0NNN`` an octal escape; ``KEY: value`` is a binding; only a *space*
before ``#`` starts a comment (a tab does not); a bare ``$NAME`` is interpolated; a ``KEY``
line alone takes its value from the lookup; single quotes are literal, ``${...}`` included.
Written from compose-go's ``dotenv/parser.go`` and ``template/template.go`` behaviour and
checked against a conformance table (``tests/sources/test_compose_dotenv.py``); no code copied.

Parsing is split from resolving: a file is parsed once per run (:func:`parse_compose_env`),
and resolved per lookup (:func:`resolve_compose_env`), since an ``env_file``'s ``${X}`` depends
on the service that names it. What Compose refuses (an unterminated quote, a space in a key,
``${ foo}``) raises :class:`ComposeEnvError`: Compose would not start the project.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from keydrift.sources._support.interpolation import Interpolated, interpolate
from keydrift.sources.interface import UnreadableFile

__all__ = [
    "ComposeBinding",
    "ComposeEnvError",
    "ComposeValue",
    "Kind",
    "parse_compose_env",
    "resolve_compose_env",
]


class ComposeEnvError(UnreadableFile):
    """Compose refuses this env file (and so the whole project); ``reason`` has no values."""


Kind = Literal["unquoted", "single", "double", "inherited"]


@dataclass(frozen=True)
class ComposeBinding:
    """One statement: ``template`` is the text still to interpolate (``unquoted``/``double``),
    the value itself (``single``), or ``None`` (``inherited``: a ``KEY`` line alone)."""

    key: str
    line: int
    kind: Kind
    template: str | None


@dataclass(frozen=True)
class ComposeValue:
    """A resolved binding: ``value`` is ``None`` when Compose would not set the key (an
    inherited key the lookup lacks) or cannot be known statically (``${X:?}`` with X unset)."""

    binding: ComposeBinding
    value: str | None
    missing: tuple[str, ...] = ()  # ${X} that nothing set (Compose uses "")
    required_missing: tuple[str, ...] = ()  # ${X:?} that nothing set (Compose refuses unless set)


# Go's unicode.IsSpace, and the parser's narrower isSpace (no line feed; NEL and NBSP count).
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_INLINE_SPACE = "\t\v\f\r \x85\xa0"
_SKIP = re.compile(f"[{re.escape(_GO_SPACE)}]*")
_EXPORT = re.compile(r"export[\t\n\f\r ]+")  # Go's \s has no \v
_KEY_FAST = re.compile(r"[A-Za-z0-9_.\-\[\]]*")
_ESCAPE = re.compile(r'\\(?:[abcfnrtv$"\\]|0[0-9]{0,3})')
_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"',
}


def parse_compose_env(text: str) -> list[ComposeBinding]:
    """Every statement of ``text`` in order. Raises :class:`ComposeEnvError` for what Compose
    refuses to parse."""
    text = text.removeprefix("\ufeff")
    out: list[ComposeBinding] = []
    n = len(text)
    pos = 0
    line = 1
    while True:
        # the start of the next statement: skip whitespace and comment lines
        while True:
            skip = _SKIP.match(text, pos)
            end = skip.end() if skip else pos
            line += text.count("\n", pos, end)
            pos = end
            if pos >= n or text[pos] != "#":
                break
            nl = text.find("\n", pos)
            if nl < 0:
                pos = n
                break
            pos = nl
        if pos >= n:
            return out
        start, start_line = pos, line
        key, pos, inherited = _key(text, pos, start_line)
        if " " in key:
            raise ComposeEnvError("a variable name contains a space", start_line)
        if inherited:
            out.append(ComposeBinding(key, start_line, "inherited", None))
        else:
            binding, pos = _value(text, pos, key, start_line)
            out.append(binding)
        line = start_line + text.count("\n", start, pos)


def _key(text: str, pos: int, line: int) -> tuple[str, int, bool]:
    """The key at ``pos``, where its value starts, and whether the line holds the key alone."""
    n = len(text)
    m = _EXPORT.match(text, pos)
    if m is not None:
        pos += len("export")
        while pos < n and text[pos] in _INLINE_SPACE:
            pos += 1
    if pos >= n:
        raise ComposeEnvError("a statement without a variable name", line)
    start = pos
    fast = _KEY_FAST.match(text, pos)
    i = fast.end() if fast else pos
    while i < n:
        ch = text[i]
        if ch in "=:\n":
            key = text[start:i].rstrip(_GO_SPACE)
            rest = i + 1
            while rest < n and text[rest] in _INLINE_SPACE:
                rest += 1
            return key, rest, ch == "\n"
        if ch in _INLINE_SPACE or ch in "_.-[]" or unicodedata.category(ch)[0] in "LN":
            i += 1
            continue
        raise ComposeEnvError(f"unexpected character {_shown(ch)} in a variable name", line)
    # The text ends inside the key: compose-go reads it as a value for the empty key.
    return "", start, False


def _shown(ch: str) -> str:
    return repr(ch) if ch.isprintable() and ch not in "\"'" else f"U+{ord(ch):04X}"


def _value(text: str, pos: int, key: str, line: int) -> tuple[ComposeBinding, int]:
    n = len(text)
    quote = text[pos] if pos < n else ""
    if quote not in ("'", '"'):
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        value = text[pos:end]
        cut = value.find(" #")
        if cut >= 0:
            value = value[:cut]
        value = value.rstrip(_GO_SPACE)
        return ComposeBinding(key, line, "unquoted", value), (n if nl < 0 else nl + 1)
    chars: list[str] = []
    escaped = False
    i = pos + 1
    # Scan to the closing quote: a backslash escapes the quote (and is dropped then); any other
    # escaped character keeps its backslash for the escape decoding below.
    while i < n:
        j = _next_special(text, i, quote)
        if j < 0:
            break
        if j > i:
            if escaped:
                chars.append("\\")
                escaped = False
            chars.append(text[i:j])
        ch = text[j]
        if ch == quote:
            if escaped:
                escaped = False
                chars.append(ch)
                i = j + 1
                continue
            value = "".join(chars)
            if quote == '"':
                return ComposeBinding(key, line, "double", _unescape(value)), j + 1
            return ComposeBinding(key, line, "single", value), j + 1
        # a backslash
        if escaped:
            escaped = False
            chars.append("\\\\")
        else:
            escaped = True
        i = j + 1
    raise ComposeEnvError("unterminated quoted value", line)


def _next_special(text: str, start: int, quote: str) -> int:
    a = text.find(quote, start)
    b = text.find("\\", start)
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)


def _unescape(value: str) -> str:
    """Double-quoted escapes: ``\\n \\t ... \\\\ \\"``, octal ``\\0NNN``, and ``\\$`` as ``$$`` (a
    literal dollar for the interpolation that follows); anything else is kept as written, except
    that a ``\\0`` that is not a 3-digit octal escape loses its ``0`` (as in compose-go)."""
    if "\\" not in value:
        return value

    def one(m: re.Match[str]) -> str:
        seq = m.group(0)
        c = seq[1]
        if c == "$":
            return "$$"
        if c == "0":
            digits = seq[2:]
            if len(digits) == 3 and all(d in "01234567" for d in digits) and int(digits, 8) < 256:
                return chr(int(digits, 8))
            return "\\" + digits  # compose-go drops the 0 before it gives up on the escape
        if c == "c":
            return seq
        return _SIMPLE_ESCAPES[c]

    return _ESCAPE.sub(one, value)


def resolve_compose_env(
    bindings: list[ComposeBinding],
    lookup: Callable[[str], str | None] | None = None,
    *,
    known: dict[str, str] | None = None,
    inherit_from_known: bool = False,
) -> list[ComposeValue]:
    """Each binding's value as Compose computes it.

    ``${X}`` looks ``X`` up with ``lookup`` first (for an ``env_file``: the project environment,
    that is the shell and ``.env``, then the service's ``environment:``), then in ``known``: the
    values already read (earlier lines, and earlier files of the same ``env_file:`` list, if the
    caller passes one dict for them). ``known`` is updated as lines are read. A ``KEY`` line
    alone takes ``lookup(KEY)``; for the project ``.env`` (``inherit_from_known``) an earlier
    line counts too. Raises :class:`ComposeEnvError` for a template Compose refuses.
    """
    seen: dict[str, str] = {} if known is None else known
    ask = lookup or _nothing

    def find(name: str) -> str | None:
        found = ask(name)
        return found if found is not None else seen.get(name)

    out: list[ComposeValue] = []
    for b in bindings:
        if b.kind == "inherited":
            value = find(b.key) if inherit_from_known else ask(b.key)
            if value is not None:
                seen[b.key] = value
            out.append(ComposeValue(b, value))
            continue
        template = b.template or ""
        if b.kind == "single" or "$" not in template:
            seen[b.key] = template
            out.append(ComposeValue(b, template))
            continue
        result: Interpolated = interpolate(template, find)
        if result.error:
            raise ComposeEnvError(result.error, b.line)
        if result.required_missing:
            out.append(ComposeValue(b, None, tuple(result.missing), tuple(result.required_missing)))
            continue
        seen[b.key] = result.text
        out.append(ComposeValue(b, result.text, tuple(result.missing)))
    return out


def _nothing(name: str) -> str | None:
    return None
