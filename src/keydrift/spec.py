"""Secret specs: which variables hold a secret, in which priority order, and the policy for it.

This module is shared by the runtime resolver (:mod:`keydrift.resolve`) and the static model of
``keydrift check``: "which variable wins in environment E" is computed by
:meth:`SecretSpec.variables_for` alone, so ``check`` predicts exactly what ``resolve`` will do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from keydrift.errors import UsageError

__all__ = [
    "ALGORITHMS",
    "DEFAULT_JWT_SPEC",
    "DEFAULT_PRODUCTION_LIKE",
    "HMAC_ALGORITHMS",
    "MIN_HMAC_BYTES",
    "SecretKind",
    "SecretSpec",
    "normalize_environment",
]

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
ALGORITHMS = (*HMAC_ALGORITHMS, "RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA")
# RFC 7518 section 3.2: a key of the same size as the hash output or larger MUST be used.
MIN_HMAC_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
DEFAULT_PRODUCTION_LIKE = frozenset({"production", "prod", "staging", "stage", "live"})

_ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")

# Common spellings people use for the same environment. Normalizing them lets `.env.prod` and
# `ENVIRONMENT=production` meet in one model; the canonical name is what reports show.
_ALIASES = {
    "dev": "development",
    "develop": "development",
    "local": "development",
    "prd": "production",
    "prod": "production",
    "stg": "staging",
    "stage": "staging",
    "tst": "test",
    "testing": "test",
    "qa": "qa",
}


def normalize_environment(name: str, *, aliases: bool = True) -> str:
    """Lower-case an environment name and map common aliases (``prod`` -> ``production``)."""
    cleaned = name.strip().lower()
    if aliases:
        return _ALIASES.get(cleaned, cleaned)
    return cleaned


class SecretKind(StrEnum):
    """What a secret is for. It decides the strength policy (RFC 7518 lengths apply to HMAC
    signing keys only) and how findings describe the damage. docs/rules/README.md lists them."""

    SIGNING_KEY = "signing-key"
    """Signs tokens (JWT HMAC secrets): whoever knows it can forge them."""
    ENCRYPTION_KEY = "encryption-key"
    """Encrypts stored data (credentials, fields): whoever knows it can decrypt them."""
    SESSION_KEY = "session-key"
    """Signs session cookies (Flask/Django SECRET_KEY): whoever knows it can forge sessions."""
    PASSWORD = "password"  # noqa: S105 - a kind name, not a password
    """A password or passphrase of a database or service account."""
    API_TOKEN = "api-token"  # noqa: S105 - a kind name, not a token
    """A shared token or API key between services, compared as it is."""
    STATIC_JWT = "static-jwt"
    """A pre-signed JWT shipped in configuration (an anonymous or service-role key)."""

    @property
    def noun(self) -> str:
        return _NOUNS[self]

    @property
    def forgery(self) -> str:
        """What a leak of it lets anyone do."""
        return _FORGERY[self]


_NOUNS = {
    SecretKind.SIGNING_KEY: "token-signing key",
    SecretKind.ENCRYPTION_KEY: "encryption key",
    SecretKind.SESSION_KEY: "session key",
    SecretKind.PASSWORD: "password",
    SecretKind.API_TOKEN: "API token",
    SecretKind.STATIC_JWT: "static token",
}
_FORGERY = {
    SecretKind.SIGNING_KEY: "anyone who reads it can sign tokens the services accept",
    SecretKind.ENCRYPTION_KEY: "anyone who reads it can decrypt the data it protects",
    SecretKind.SESSION_KEY: "anyone who reads it can forge sessions and signed cookies",
    SecretKind.PASSWORD: "anyone who reads it can log in with it",
    SecretKind.API_TOKEN: "anyone who reads it can call the services that accept it",
    SecretKind.STATIC_JWT: "anyone who reads it can call the services with its privileges",
}


@dataclass(frozen=True)
class SecretSpec:
    """Where a secret lives and how strong it must be.

    ``variables`` are templates in priority order; ``{ENV}`` is replaced by the upper-cased
    environment name. Templates with ``{ENV}`` are skipped when the environment is unknown.
    """

    name: str = "jwt"
    variables: tuple[str, ...] = ("JWT_SECRET_{ENV}", "JWT_SECRET_KEY", "JWT_SECRET")
    algorithm: str = "HS256"
    environment_variable: str = "ENVIRONMENT"
    production_like: frozenset[str] = field(default=DEFAULT_PRODUCTION_LIKE)
    previous_variables: tuple[str, ...] = ("JWT_SECRET_PREVIOUS",)
    min_bytes: int | None = None
    file_suffix: str = "_FILE"
    kind: SecretKind = SecretKind.SIGNING_KEY

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise UsageError(
                f"unknown algorithm {self.algorithm!r} in spec {self.name!r}",
                advice=f"use one of {', '.join(ALGORITHMS)}",
            )
        if not self.variables:
            raise UsageError(f"spec {self.name!r} names no variables")
        for template in (*self.variables, *self.previous_variables):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\{ENV\}[A-Za-z0-9_]*)?", template):
                raise UsageError(
                    f"invalid variable template {template!r} in spec {self.name!r}",
                    advice="templates are variable names, optionally with one {ENV} placeholder",
                )

    @property
    def is_hmac(self) -> bool:
        return self.algorithm in HMAC_ALGORITHMS

    @property
    def required_bytes(self) -> int:
        """Minimum secret length in bytes (RFC 7518 3.2 for HMAC, or the policy's own)."""
        base = MIN_HMAC_BYTES.get(self.algorithm, 0)
        return max(base, self.min_bytes or 0)

    def variables_for(self, environment: str | None) -> tuple[str, ...]:
        """Concrete variable names in priority order for ``environment``."""
        memo = self._expanded
        key = ("v", environment)
        if key not in memo:
            memo[key] = self._expand(self.variables, environment)
        return memo[key]

    def previous_for(self, environment: str | None) -> tuple[str, ...]:
        memo = self._expanded
        key = ("p", environment)
        if key not in memo:
            memo[key] = self._expand(self.previous_variables, environment)
        return memo[key]

    @cached_property
    def _expanded(self) -> dict[tuple[str, str | None], tuple[str, ...]]:
        # Rules ask for the same few environments hundreds of thousands of times on a big tree.
        return {}

    def _expand(self, templates: Iterable[str], environment: str | None) -> tuple[str, ...]:
        out: list[str] = []
        env_token = env_suffix(environment) if environment else None
        for template in templates:
            if "{ENV}" in template:
                if env_token is None:
                    continue
                name = template.replace("{ENV}", env_token)
            else:
                name = template
            if name not in out:
                out.append(name)
        return tuple(out)

    def all_variable_patterns(self) -> tuple[re.Pattern[str], ...]:
        """Regexes matching every concrete name any environment could produce."""
        return self._patterns

    @cached_property
    def _patterns(self) -> tuple[re.Pattern[str], ...]:
        # Built once per spec: a check asks about tens of thousands of names.
        return tuple(re.compile(f"^{body}$") for body in self._pattern_bodies)

    @cached_property
    def _pattern_bodies(self) -> tuple[str, ...]:
        return tuple(
            re.escape(template).replace(re.escape("{ENV}"), "[A-Z0-9_]+")
            for template in (*self.variables, *self.previous_variables)
        )

    @cached_property
    def _any_variable(self) -> re.Pattern[str]:
        return re.compile("^(?:" + "|".join(self._pattern_bodies) + ")$")

    def matches_variable(self, name: str) -> bool:
        return self._any_variable.match(name) is not None

    @staticmethod
    def any_variable_pattern(specs: Iterable[SecretSpec]) -> re.Pattern[str]:
        """One pattern matching what :meth:`matches_variable` matches for any of ``specs`` (a
        classifier asks thousands of names against a dozen specs)."""
        bodies = [body for spec in specs for body in spec._pattern_bodies]
        return re.compile("^(?:" + "|".join(bodies) + ")$" if bodies else "(?!)")

    def is_production_like(self, environment: str | None) -> bool:
        if environment is None:
            return False
        env = environment.strip().lower()
        prod = {e.lower() for e in self.production_like}
        return env in prod or normalize_environment(env) in prod

    @staticmethod
    def validate_environment(environment: str) -> str:
        if not _ENV_NAME.match(environment):
            raise UsageError(
                f"invalid environment name {environment!r}",
                advice="use letters, digits, '-', '_' or '.', e.g. staging",
            )
        return environment


def env_suffix(environment: str) -> str:
    """``staging`` -> ``STAGING``; ``pre-prod`` -> ``PRE_PROD`` (as a variable name part)."""
    return re.sub(r"[^A-Z0-9]", "_", environment.strip().upper())


DEFAULT_JWT_SPEC = SecretSpec()
