"""What kind of value a variable holds, judged by the value first and its name second.

A name like ``JWT_EXP`` or ``ENABLE_EMAIL_PASSWORD`` contains secret-like words, but ``3600`` or
``true`` is never a secret, a placeholder or a weak secret. Rules ask :func:`value_kind` before
judging a value as a secret, so a number, a flag, a duration, a URL without credentials, an
algorithm name or an unexpanded shell expression is never reported as one.
"""

from __future__ import annotations

import re
from enum import StrEnum
from urllib.parse import urlsplit

__all__ = ["ValueKind", "value_kind"]


class ValueKind(StrEnum):
    EMPTY = "empty"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DURATION = "duration"
    SIZE = "size"
    URL = "url"
    """A URL without a password in it (one with ``user:pass@`` is a secret)."""
    ALGORITHM = "algorithm"
    IDENTIFIER = "identifier"
    """The variable's own name as a value (``API_TOKEN = "api-token"``): a label, not a secret."""
    EXPANSION = "expansion"
    """A shell or template expression evaluated at run time (``${key#SECRETS_}``, ``$(cat f)``)."""
    SECRET = "secret"  # noqa: S105 - a kind name
    """Anything else: judged by the strength policy."""


# Module paths and entry points ("keydrift.keys", "pkg.mod:obj"): names of code, not secrets.
_DOTTED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[.:][A-Za-z_][A-Za-z0-9_]*)+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_BOOLEAN = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "none", "null", "nil"})
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|sec|secs|m|min|mins|h|hr|hrs|d|w|y))+", re.I)
_SIZE = re.compile(r"\d+(?:\.\d+)?\s*(?:[kmgtp]i?b?|b|bytes?)", re.IGNORECASE)
_ALGORITHMS = frozenset(
    {
        "hs256", "hs384", "hs512", "rs256", "rs384", "rs512", "es256", "es384", "es512", "es256k",
        "ps256", "ps384", "ps512", "eddsa", "none", "sha1", "sha256", "sha384", "sha512", "md5",
        "aes-256-gcm", "aes-128-gcm", "aes-256-cbc", "aes256", "aes128", "bcrypt", "argon2",
        "argon2id", "scrypt", "pbkdf2", "fernet",
    }
)
# A shell expansion with an operator (`${key#SECRETS_}`, `${!key}`, `${var/x/y}`), a command
# substitution, or a template expression: the text is code, its value is computed at run time.
_EXPANSION = re.compile(
    r"\$\{[!#]|\$\{[A-Za-z_][A-Za-z0-9_]*(?:[#%/^,@]|:[0-9])|\$\(|`[^`]+`|\{\{.*\}\}|\{%.*%\}"
)


def value_kind(text: str, name: str | None = None) -> ValueKind:
    """The kind of ``text`` (a value as delivered, never printed), held by variable ``name``."""
    value = text.strip()
    if not value:
        return ValueKind.EMPTY
    low = value.lower()
    if name is not None and len(value) <= len(name) + 2 and _squash(low) == _squash(name.lower()):
        return ValueKind.IDENTIFIER
    if _DOTTED_NAME.fullmatch(value):
        return ValueKind.IDENTIFIER
    if _NUMBER.fullmatch(value):
        return ValueKind.NUMBER
    if low in _BOOLEAN:
        return ValueKind.BOOLEAN
    if _DURATION.fullmatch(value):
        return ValueKind.DURATION
    if _SIZE.fullmatch(value):
        return ValueKind.SIZE
    if low in _ALGORITHMS:
        return ValueKind.ALGORITHM
    if _EXPANSION.search(value):
        return ValueKind.EXPANSION
    if "://" in value and not any(c.isspace() for c in value):
        try:
            parts = urlsplit(value)
        except ValueError:
            return ValueKind.SECRET
        if parts.scheme and parts.netloc and parts.password is None:
            return ValueKind.URL
    return ValueKind.SECRET


def _squash(text: str) -> str:
    return "".join(filter(str.isalnum, text))
