"""The exception hierarchy. Every error keydrift raises derives from :class:`KeydriftError`.

Messages name places (variables, files, line numbers) and fingerprints, never secret values:
callers log these messages, and tracebacks end up in shared dashboards.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import ClassVar

__all__ = [
    "ConfigError",
    "InputError",
    "KeydriftError",
    "MissingSecretError",
    "RejectReason",
    "SecretConflictError",
    "SecretEncodingError",
    "SecretFileError",
    "TokenRejected",
    "UsageError",
    "WeakSecretError",
]


class KeydriftError(Exception):
    """Base error: a one-line ``message`` plus ``advice`` saying what to do about it.

    ``exit_code`` is what the CLI returns when this error reaches its single handler
    (see ``docs/exit-codes.md``).
    """

    exit_code: ClassVar[int] = 2

    def __init__(self, message: str, *, advice: str | None = None, where: str | None = None):
        self.message = message
        self.advice = advice
        self.where = where
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.advice:
            text = f"{text}\n  advice: {self.advice}"
        return text

    def one_line(self) -> str:
        """The message without advice, prefixed with its location."""
        return f"{self.where}: {self.message}" if self.where else self.message


class UsageError(KeydriftError):
    """The command line or API was called with arguments that cannot work."""


class InputError(KeydriftError):
    """A named input (file, token, stdin) could not be read or parsed."""


class ConfigError(KeydriftError):
    """``keydrift.toml`` or ``[tool.keydrift]`` is invalid."""


class MissingSecretError(KeydriftError):
    """No secret was found in any of the places the spec names."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, looked: Sequence[str] = (), advice: str | None = None):
        self.looked = tuple(looked)
        super().__init__(message, advice=advice)


class WeakSecretError(KeydriftError):
    """A secret was found but refused: too short, low entropy, placeholder or known-weak."""

    exit_code: ClassVar[int] = 1

    def __init__(
        self,
        message: str,
        *,
        problems: Sequence[str] = (),
        advice: str | None = None,
        where: str | None = None,
    ):
        self.problems = tuple(problems)
        super().__init__(message, advice=advice, where=where)


class SecretConflictError(KeydriftError):
    """Two places that must agree (``NAME`` and ``NAME_FILE``) hold different values."""

    exit_code: ClassVar[int] = 1


class SecretFileError(KeydriftError):
    """A secret file is unreadable, empty, half-written or otherwise unusable."""

    exit_code: ClassVar[int] = 1


class RejectReason(StrEnum):
    """Why a token was rejected: a fixed vocabulary (metrics label it, JSON carries it)."""

    SIGNATURE = "signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    AUDIENCE = "audience"
    ISSUER = "issuer"
    ALGORITHM = "algorithm"
    MALFORMED = "malformed"
    UNKNOWN_KID = "unknown_kid"
    MISSING_CLAIM = "missing_claim"


class SecretEncodingError(KeydriftError):
    """A secret given as text is not valid UTF-8 (an environment variable holding raw bytes).

    Refused rather than guessed: Python apps would read it with surrogate escapes, other
    runtimes as raw bytes, so no two readers would agree on the key.
    """

    exit_code: ClassVar[int] = 1


class TokenRejected(KeydriftError):
    """A token failed verification.

    ``reason`` is machine-readable and stable: one of :attr:`REASONS`.
    ``detail`` is human-readable, with expected and actual values where they are safe to show.
    """

    exit_code: ClassVar[int] = 1

    REASONS: ClassVar[frozenset[str]] = frozenset(r.value for r in RejectReason)

    # What to do about each reason; shared by the keyring and `keydrift explain`.
    ADVICE: ClassVar[dict[str, str]] = {
        "expired": "get a new token; if tokens expire early, check the signer's clock and ttl",
        "not_yet_valid": "check the clocks of signer and verifier (NTP), or allow a small leeway",
        "audience": "the token was issued for another service: request it with the right audience",
        "issuer": "the token comes from another issuer: check which service signed it",
        "malformed": "send the raw compact JWS (header.payload.signature) without quotes or prefix",
        "missing_claim": "the signer must set this claim",
        "algorithm": "sign with the algorithm the verifier expects",
    }

    def __init__(self, reason: RejectReason | str, detail: str, *, advice: str | None = None):
        if reason not in self.REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        self.reason = RejectReason(reason)
        self.detail = detail
        super().__init__(f"token rejected ({reason}): {detail}", advice=advice)
