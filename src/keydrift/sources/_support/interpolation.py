"""Compose-style variable interpolation (``${VAR}``, ``${VAR:-x}``, ``$VAR``, ``$$`` ...).

Hand-written because no Python library implements compose-go's ``template`` rules: ``$$`` is a
literal ``$``; ``${VAR:-x}``/``${VAR-x}`` defaults (empty vs unset), ``${VAR:?msg}``/``${VAR?msg}``
required, ``${VAR:+x}``/``${VAR+x}`` alternatives, nested in defaults; an unset variable becomes
the empty string (compose warns). The result says which ``$name`` fragments were replaced so
KD501 can point at a ``$`` that compose ate from a literal, and whether Compose would refuse the
template (``${ foo}``, ``${foo`` ...): :attr:`Interpolated.error`.

compose-go finds a ``${NAME<op>...}`` with a regex whose ``.*`` runs to the *last* ``}`` of the
line, then cuts it at the first balanced ``}`` (a ``{`` also skips the character after it). Done
literally, each nesting level rescans the rest of the text, which made a 100 KB line of 400
nested defaults cost seconds. Here both searches are answered from tables built in one pass over
the text, so the work is linear in its length; nesting deeper than :data:`MAX_DEPTH` is refused
(real templates nest two or three levels).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["MAX_DEPTH", "Interpolated", "interpolate"]

MAX_DEPTH = 32
# compose-go matches names with ``(?i:[_a-z][_a-z0-9]*)``; Go's case folding adds the long s
# and the Kelvin sign to the ASCII letters.
_NAME = re.compile("[_A-Za-z\u017f\u212a][_A-Za-z0-9\u017f\u212a]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


@dataclass(slots=True)
class Interpolated:
    """The interpolated text plus what happened on the way (names only, never values)."""

    text: str
    used: list[str] = field(default_factory=list)  # variables that were looked up
    missing: list[str] = field(default_factory=list)  # looked up but unset (became "")
    required_missing: list[str] = field(default_factory=list)  # ${VAR:?} that would fail
    # Why Compose refuses this template (one line, no values), else None. The text then keeps
    # the refused part as written.
    error: str | None = None


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Tables:
    """One pass over the text: where each line ends, where the ``}`` are, which ``}`` closes
    each ``{`` (compose-go's scan: a ``{`` skips the character after it)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.closes = [i for i, ch in enumerate(text) if ch == "}"]
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.match: dict[int, int] = {}
        stack: list[int] = []
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if ch == "{":
                stack.append(i)
                i += 2
                continue
            if ch == "}" and stack:
                self.match[stack.pop()] = i
            i += 1

    def line_end(self, pos: int) -> int:
        k = bisect_left(self.newlines, pos)
        return self.newlines[k] if k < len(self.newlines) else len(self.text)

    def last_close(self, pos: int, end: int) -> int:
        """The last ``}`` in ``[pos, end)``, or -1."""
        k = bisect_left(self.closes, end) - 1
        return self.closes[k] if k >= 0 and self.closes[k] >= pos else -1


def interpolate(text: str, lookup: Callable[[str], str | None]) -> Interpolated:
    """Interpolate ``text`` like ``docker compose`` does, looking variables up with ``lookup``."""
    result = Interpolated(text=text)
    if "$" not in text:
        return result
    tables = _Tables(text)
    try:
        result.text = _run(tables, 0, len(text), lookup, result, 0)
    except _Refused as exc:
        result.error = exc.reason
        result.text = text
    return result


def _run(
    t: _Tables, start: int, end: int, lookup: Callable[[str], str | None], res: Interpolated, depth: int
) -> str:
    if depth > MAX_DEPTH:
        raise _Refused(f"interpolation nested more than {MAX_DEPTH} levels deep")
    text = t.text
    out: list[str] = []
    i = start
    while i < end:
        j = text.find("$", i, end)
        if j < 0:
            out.append(text[i:end])
            break
        out.append(text[i:j])
        nxt = text[j + 1] if j + 1 < end else ""
        if nxt == "$":
            out.append("$")
            i = j + 2
            continue
        if nxt == "{":
            value, i = _braced(t, j, end, lookup, res, depth)
            out.append(value)
            continue
        m = _NAME.match(text, j + 1, end)
        if m is None:
            out.append("$")  # `$` before anything else is kept as written
            i = j + 1
            continue
        out.append(_get(m.group(0), lookup, res))
        i = m.end()
    return "".join(out)


def _get(name: str, lookup: Callable[[str], str | None], res: Interpolated) -> str:
    value = lookup(name)
    res.used.append(name)
    if value is None:
        res.missing.append(name)
        return ""
    return value


def _braced(
    t: _Tables, at: int, end: int, lookup: Callable[[str], str | None], res: Interpolated, depth: int
) -> tuple[str, int]:
    """``${...}`` starting at ``at`` (the ``$``) inside ``[.., end)``: its value and where the
    text continues."""
    text = t.text
    m = _NAME.match(text, at + 2, end)
    if m is None:
        raise _Refused("invalid interpolation template (${ must be followed by a variable name)")
    name = m.group(0)
    after = m.end()
    if after < end and text[after] == "}":
        return _get(name, lookup, res), after + 1
    op = next((o for o in _OPERATORS if text.startswith(o, after, end)), None)
    # The greedy `.*` of compose-go's pattern stops at the last `}` of this line.
    last = t.last_close(after, min(end, t.line_end(after)))
    if op is None or last < 0:
        raise _Refused("invalid interpolation template (unterminated ${ or a bad character in it)")
    close = t.match.get(at + 1, -1)
    if close < 0 or close > last:
        close = last  # no balanced `}`: compose-go takes everything up to the last one
    arg_start = after + len(op)
    value = lookup(name)
    res.used.append(name)
    kind = op[-1]
    colon = op.startswith(":")
    if kind in "-?":
        unset = value is None or (colon and value == "")
        if not unset:
            return value or "", close + 1
        if kind == "-":
            return _run(t, arg_start, close, lookup, res, depth + 1), close + 1
        res.required_missing.append(name)
        # the message is interpolated too: a bad template there is refused as well
        _run(t, arg_start, close, lookup, Interpolated(text=""), depth + 1)
        return "", close + 1
    present = value is not None and (not colon or value != "")
    if present:
        return _run(t, arg_start, close, lookup, res, depth + 1), close + 1
    return value or "", close + 1
