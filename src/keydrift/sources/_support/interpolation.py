"""Compose-style variable interpolation (``${VAR}``, ``${VAR:-x}``, ``$VAR``, ``$$`` ...).

Hand-written because no Python library implements compose-go's rules: ``$$`` is a literal
``$``; ``${VAR:-x}``/``${VAR-x}`` defaults (empty vs unset), ``${VAR:?msg}``/``${VAR?msg}``
required, ``${VAR:+x}``/``${VAR+x}`` alternatives, nested in defaults; an unset variable
becomes the empty string (compose warns). The result says which ``$name`` fragments were
replaced so KD501 can point at a ``$`` that compose ate from a literal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Interpolated", "interpolate"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Interpolated:
    """The interpolated text plus what happened on the way (names only, never values)."""

    text: str
    used: list[str] = field(default_factory=list)  # variables that were looked up
    missing: list[str] = field(default_factory=list)  # looked up but unset (became "")
    required_missing: list[str] = field(default_factory=list)  # ${VAR:?} that would fail
    had_dollar: bool = False  # any `$` in the input


def interpolate(text: str, lookup: Callable[[str], str | None]) -> Interpolated:
    """Interpolate ``text`` like ``docker compose`` does, looking variables up with ``lookup``."""
    result = Interpolated(text="", had_dollar="$" in text)
    if "$" not in text:
        result.text = text
        return result
    result.text = _run(text, lookup, result)
    return result


def _run(text: str, lookup: Callable[[str], str | None], res: Interpolated) -> str:
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch != "$":
            j = text.find("$", i)
            j = n if j < 0 else j
            out.append(text[i:j])
            i = j
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            end = _matching_brace(text, i + 1)
            if end < 0:
                out.append(text[i:])  # compose errors on this; keep the text as written
                break
            out.append(_braced(text[i + 2 : end], lookup, res))
            i = end + 1
            continue
        m = _NAME.match(text, i + 1)
        if m:
            name = m.group(0)
            value = lookup(name)
            res.used.append(name)
            if value is None:
                res.missing.append(name)
            out.append(value or "")
            i = m.end()
            continue
        out.append("$")
        i += 1
    return "".join(out)


def _matching_brace(text: str, open_at: int) -> int:
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return -1


def _braced(body: str, lookup: Callable[[str], str | None], res: Interpolated) -> str:
    m = _NAME.match(body)
    if not m:
        return "${" + body + "}"
    name = m.group(0)
    rest = body[m.end() :]
    value = lookup(name)
    res.used.append(name)
    if not rest:
        if value is None:
            res.missing.append(name)
        return value or ""
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            colon = op.startswith(":")
            unset = value is None or (colon and value == "")
            kind = op[-1]
            if kind == "-":
                return _run(arg, lookup, res) if unset else (value or "")
            if kind == "?":
                if unset:
                    res.required_missing.append(name)
                    return ""
                return value or ""
            return "" if unset else _run(arg, lookup, res)
    return "${" + body + "}"
