"""Which variable names look like they hold a secret.

Sources use this to decide what to record (a deploy script sets dozens of variables; only the
secret-like ones matter), so it must be cheap and err on the side of recording.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from keydrift.spec import DEFAULT_JWT_SPEC, SecretSpec

__all__ = [
    "SECRET_TOKEN_BYTES",
    "is_recorded_variable",
    "is_secret_file_variable",
    "is_secret_variable",
    "register_specs",
    "secret_name_pattern",
]

# Words that make a name secret-like, matched as whole name parts (JWT_SECRET, secretKey,
# SIGNING_KEY, api_token) so that MONKEY or TOKENIZER_PATH are not.
_SECRET_PARTS = re.compile(
    r"(?:^|[_.\-])(?:secret|secrets|jwt|token|key|password|passwd|pwd|passphrase|"
    r"signing|encryption|hmac|apikey|privatekey|secretkey|credentials?)(?:$|[_.\-])",
    re.IGNORECASE,
)
# Names built from these parts are identifiers, paths or public data, not secrets.
_NOT_SECRET = re.compile(
    r"(?:^|[_.\-])(?:public|pub|id|ids|kid|name|names|path|paths|file|files|dir|url|uri|"
    r"header|prefix|length|len|size|expire|expires|expiry|ttl|algorithm|algorithms|alg|"
    r"issuer|audience|type|field|location|cookie_name|env|enabled|version|count|lifetime|"
    r"timeout|minutes|seconds|days|hours|max|min|format|mode|refresh_url)(?:$|[_.\-])",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

# Byte tokens a file must contain (case-insensitively) before it is worth parsing for secrets;
# a cheap prefilter for code files (see keydrift.sources.discovery).
SECRET_TOKEN_BYTES = (b"secret", b"jwt", b"token", b"key", b"password", b"passwd")

_extra_specs: list[SecretSpec] = [DEFAULT_JWT_SPEC]


def register_specs(specs: Iterable[SecretSpec]) -> None:
    """Make the variables of ``specs`` (config and presets) count as secret-like, replacing the
    previous registration (each model build registers its own, so builds do not leak)."""
    fresh = [DEFAULT_JWT_SPEC]
    for spec in specs:
        if spec not in fresh:
            fresh.append(spec)
    if fresh != _extra_specs:
        _extra_specs[:] = fresh
        _cached.cache_clear()


def is_secret_variable(name: str) -> bool:
    """True for spec and preset variables and names like ``JWT_SECRET`` or ``apiToken``;
    false for ``PUBLIC_KEY_ID``, ``JWT_ALGORITHM``, ``SECRET_KEY_FILE`` and the like."""
    return _cached(name)


@lru_cache(maxsize=8192)
def _cached(name: str) -> bool:
    if not name or len(name) > 200:
        return False
    if name.endswith("_FILE") or name.endswith("_file"):
        return False  # a path to a secret, read by the resolver; the file itself is the secret
    if any(spec.matches_variable(name) for spec in _extra_specs):
        return True
    split = _CAMEL.sub("_", name)
    if not _SECRET_PARTS.search(split):
        return False
    return not _NOT_SECRET.search(split)


_WORDS = r"secret|jwt|passw|passphrase|token|api_?key|_key\b|key_|signing|encryption|hmac|credential"


def secret_name_pattern() -> str:
    """A regex fragment (case-insensitive) matching any part of a secret-like name, including
    the variables of registered specs (config and presets)."""
    return _name_pattern_cached(tuple(s.variables + s.previous_variables for s in _extra_specs))


@lru_cache(maxsize=32)
def _name_pattern_cached(templates: tuple[tuple[str, ...], ...]) -> str:
    parts = {_WORDS}
    for group in templates:
        for template in group:
            for piece in template.split("{ENV}"):
                piece = piece.strip("_")
                if len(piece) >= 3:
                    parts.add(re.escape(piece))
    return "|".join(sorted(parts))


def is_secret_file_variable(name: str) -> bool:
    """``JWT_SECRET_FILE``: a path to a file holding a secret (the resolver's ``NAME_FILE``)."""
    return name.endswith("_FILE") and is_secret_variable(name[: -len("_FILE")])


def is_recorded_variable(name: str) -> bool:
    """What readers keep in a service's env: secret-like names and their ``_FILE`` forms."""
    return is_secret_variable(name) or is_secret_file_variable(name)
