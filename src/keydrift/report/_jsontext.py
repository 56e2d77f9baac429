"""The reports' JSON text: ``json.dumps(doc, indent=2)``, byte for byte, at C speed.

The standard library encodes in C only without ``indent``; an indented report of a few hundred
findings took ~25 ms in its pure-Python encoder, more than reading a small tree. orjson writes
the same layout (two spaces, ``": "``, one item per line, ``[]``/``{}`` for empty containers)
but leaves non-ASCII characters and DEL as they are, where ``json.dumps`` escapes them
(``ensure_ascii``). Escaping them afterwards gives the standard library's text exactly: such
characters occur only inside strings, and orjson already escapes every control character below
0x20 the way ``json.dumps`` does. ``tests/report/test_jsontext.py`` compares both on generated
documents.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["indented"]

# What ensure_ascii escapes and orjson writes as is: DEL and everything above ASCII. (Written
# as a negated class: the range up to U+10FFFF takes 100 times longer to compile.)
_NOT_ASCII = re.compile(r"[^\x00-\x7e]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # as ensure_ascii writes it: a UTF-16 surrogate pair
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


def indented(document: Any) -> str:
    """``json.dumps(document, indent=2) + "\\n"`` for a document of dicts with string keys,
    lists, tuples, strings, ints, booleans and ``None``."""
    try:
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    except (TypeError, OverflowError):
        # A string orjson refuses (a lone surrogate: a file name that is not UTF-8) or an int
        # beyond 64 bits: the standard library writes those, escaped.
        return json.dumps(document, indent=2) + "\n"
    out = text.decode("utf-8")
    return out if out.isascii() and "\x7f" not in out else _NOT_ASCII.sub(_escape, out)
