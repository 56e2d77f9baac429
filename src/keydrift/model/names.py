"""Which variable names look like they hold a secret.

Sources use this to decide what to record (a deploy script sets dozens of variables; only the
secret-like ones matter), so it must be cheap and err on the side of recording.

A :class:`NameClassifier` is built per check from the specs in play (configuration and presets)
and travels to every reader through its read context, so two checks with different
configurations in one process never see each other's names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from keydrift.spec import DEFAULT_JWT_SPEC, SecretKind, SecretSpec

__all__ = ["NameClassifier", "is_secret_variable", "is_template_path", "kind_of_name"]

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
    r"header|prefix|length|len|size|expire|expires|expiry|exp|ttl|algorithm|algorithms|alg|"
    r"issuer|audience|type|field|location|cookie_name|env|enabled|enable|disable|disabled|"
    r"version|count|lifetime|timeout|minutes|seconds|days|hours|max|min|format|mode|"
    r"refresh_url)(?:$|[_.\-])",
    re.IGNORECASE,
)
# ... and names that end in these say what kind of thing it is (TOKEN_SOURCE, SECRET_BACKEND);
# as a prefix they do not (STORAGE_SECRET_KEY, DB_USER_PASSWORD).
_NOT_SECRET_END = re.compile(
    r"(?:^|[_.\-])(?:source|sources|kind|label|method|provider|strategy|scheme|backend|engine|"
    r"class|module|storage|param|params|hint|endpoint|host|port|user|username|usage|policy|"
    r"access_key|access_key_id|aud|role|roles|admin_roles|group|groups|claim|claims)$",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

_WORDS = r"secret|jwt|passw|passphrase|token|api_?key|_key\b|key_|signing|encryption|hmac|credential"
# Byte tokens a line must contain (case-insensitively) before the precise pattern runs.
_BASE_WORDS = (
    b"secret", b"jwt", b"passw", b"passphrase", b"token", b"key", b"signing", b"encryption",
    b"hmac", b"credential",
)
_MAX_CACHE = 65_536

# Name parts that say what a secret is for, most specific first.
_KIND_PARTS: tuple[tuple[SecretKind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"(?:^|_)(?:{words})(?:$|_)", re.IGNORECASE))
    for kind, words in (
        (SecretKind.STATIC_JWT, r"anon_key|service_role_key|service_key"),
        (SecretKind.SIGNING_KEY, r"jwt|signing|hmac|jws|token_secret|auth_secret"),
        (SecretKind.ENCRYPTION_KEY, r"encryption|enc|encrypt|crypto|fernet|aes|cipher|master_key"),
        (SecretKind.PASSWORD, r"password|passwd|pwd|pass|passphrase"),
        (SecretKind.SESSION_KEY, r"session|session_secret|session_key|cookie|cookie_secret|"
                                 r"nextauth_secret"),
        (SecretKind.API_TOKEN, r"token|api_key|apikey|access_key|secret_access_key|client_secret|"
                               r"key|secret|credentials?"),
    )
)


# The web framework's own key (Django, Flask, Rails): the whole name, or an app's prefix on it.
_FRAMEWORK_KEY = re.compile(
    r"^(?:(?:django|flask|rails|app|web|webui|server)_)?(?:secret_key|secret_key_base|app_key|"
    r"app_secret)$",
    re.IGNORECASE,
)


def kind_of_name(name: str) -> SecretKind:
    """What a secret-like variable is for, judged by its name alone (specs and presets say it
    better where they know the variable)."""
    split = _CAMEL.sub("_", name)
    if _FRAMEWORK_KEY.match(split):
        return SecretKind.SESSION_KEY
    for kind, pattern in _KIND_PARTS:
        if pattern.search(split):
            return kind
    return SecretKind.API_TOKEN


class NameClassifier:
    """Classifies variable names against the built-in words and the given specs' variables.

    Results are memoised per instance (bounded), since a large tree asks about the same names
    thousands of times.
    """

    def __init__(self, specs: Iterable[SecretSpec] = (), *, file_suffix: str = "_FILE") -> None:
        fresh = [DEFAULT_JWT_SPEC]
        for spec in specs:
            if spec not in fresh:
                fresh.append(spec)
        self.specs: tuple[SecretSpec, ...] = tuple(fresh)
        self.file_suffixes: tuple[str, ...] = tuple(
            dict.fromkeys([file_suffix, *(s.file_suffix for s in fresh)])
        )
        self._memo: dict[str, bool] = {}
        self._spec_variable = SecretSpec.any_variable_pattern(self.specs)
        templates = [t for s in self.specs for t in (*s.variables, *s.previous_variables)]
        parts = {_WORDS}
        words = set(_BASE_WORDS)
        for template in templates:
            for piece in template.split("{ENV}"):
                piece = piece.strip("_")
                if len(piece) >= 3:
                    parts.add(re.escape(piece))
                    low = piece.lower().encode()
                    if not any(w in low for w in _BASE_WORDS):
                        words.add(low)
        self.name_pattern: str = "|".join(sorted(parts))
        """A regex fragment (case-insensitive) matching any part of a secret-like name."""
        self.words: tuple[bytes, ...] = tuple(sorted(words))
        """Lower-case byte keywords, one of which every secret-like name contains."""

    def is_secret(self, name: str) -> bool:
        """True for spec and preset variables and names like ``JWT_SECRET`` or ``apiToken``;
        false for ``PUBLIC_KEY_ID``, ``JWT_ALGORITHM``, ``SECRET_KEY_FILE`` and the like."""
        found = self._memo.get(name)
        if found is None:
            found = self._classify(name)
            if len(self._memo) < _MAX_CACHE:
                self._memo[name] = found
        return found

    def _classify(self, name: str) -> bool:
        if not name or len(name) > 200:
            return False
        if self.file_pointer_base(name) is not None or name.endswith("_file"):
            return False  # a path to a secret, read by the resolver; the file itself is the secret
        if self._spec_variable.match(name) is not None:
            return True
        split = _CAMEL.sub("_", name)
        if not _SECRET_PARTS.search(split):
            return False
        return not _NOT_SECRET.search(split) and not _NOT_SECRET_END.search(split)

    def kind_of(self, name: str) -> SecretKind:
        """The kind of ``name``: its spec's kind when a spec names it, else by the name."""
        if self._spec_variable.match(name) is None:
            return kind_of_name(name)  # most names: one match says no spec names them
        for spec in self.specs[1:]:  # configured and preset specs first
            if spec.matches_variable(name):
                return spec.kind
        if DEFAULT_JWT_SPEC.matches_variable(name):
            return DEFAULT_JWT_SPEC.kind
        return kind_of_name(name)

    def file_pointer_base(self, name: str) -> str | None:
        """``JWT_SECRET`` for ``JWT_SECRET_FILE`` (any spec's file suffix), else ``None``."""
        for suffix in self.file_suffixes:
            if name.endswith(suffix) and len(name) > len(suffix):
                return name[: -len(suffix)]
        return None

    def is_secret_file(self, name: str) -> bool:
        """``JWT_SECRET_FILE``: a path to a file holding a secret (the resolver's ``NAME_FILE``)."""
        base = self.file_pointer_base(name)
        return base is not None and self.is_secret(base)

    def is_recorded(self, name: str) -> bool:
        """What readers keep in a service's env: secret-like names and their ``_FILE`` forms."""
        return self.is_secret(name) or self.is_secret_file(name)


@cache
def default_classifier() -> NameClassifier:
    """The classifier with no configured specs (built-in words and the default JWT spec)."""
    return NameClassifier()


def is_secret_variable(name: str) -> bool:
    """:meth:`NameClassifier.is_secret` with no configured specs (for callers without a check)."""
    return default_classifier().is_secret(name)


_TEMPLATE = re.compile(r"(^|[./_-])(example|sample|template|dist|tpl)([./_-]|$)", re.I)


def is_template_path(path: str) -> bool:
    """``.env.example``, ``.env.sample``, ``.env.template``, ``app.example.yml`` ..."""
    return bool(_TEMPLATE.search(path.rsplit("/", 1)[-1]))
