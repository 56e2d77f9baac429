"""The one type that holds a secret value.

Everything outside this module handles :class:`SecretValue` objects or fingerprints. The value
cannot be printed, formatted, pickled or copied into a log record by accident: ``repr``, ``str``
and ``format`` show only a short fingerprint, pickling raises, and equality is constant-time.
Code that truly needs the bytes (HMAC, key derivation) calls :meth:`SecretValue.reveal`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn

__all__ = [
    "Provenance",
    "ProvenanceKind",
    "ResolvedSecret",
    "SecretValue",
]


class SecretValue:
    """An opaque secret. ``reveal()`` is the only way to get the bytes back."""

    __slots__ = ("_fp", "_raw")
    _raw: bytes
    _fp: str | None

    def __init__(self, value: str | bytes) -> None:
        raw = _utf8(value) if isinstance(value, str) else bytes(value)
        object.__setattr__(self, "_raw", raw)
        object.__setattr__(self, "_fp", None)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("SecretValue is immutable")

    def reveal(self) -> bytes:
        """The raw bytes. Never log, print or put them in an exception."""
        return self._raw

    def reveal_text(self) -> str:
        """The value decoded as UTF-8 (undecodable bytes replaced)."""
        return self._raw.decode("utf-8", errors="replace")

    def __len__(self) -> int:
        return len(self._raw)

    def __bool__(self) -> bool:
        return bool(self._raw)

    @property
    def fingerprint(self) -> str:
        """Full RFC 7638 thumbprint of the value as an HMAC (``oct``) key."""
        if self._fp is None:
            # Computed once: rules ask for it for every comparison and every finding id.
            from keydrift.keys import oct_thumbprint

            object.__setattr__(self, "_fp", oct_thumbprint(self._raw))
        assert self._fp is not None
        return self._fp

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:12]

    def __repr__(self) -> str:
        # A guessable value's fingerprint gives it away (unsalted SHA-256): say "weak" instead.
        from keydrift.strength import display_fingerprint

        return f"SecretValue(fp={display_fingerprint(self._raw)}, len={len(self._raw)})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return self.__repr__()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretValue):
            return NotImplemented
        return hmac.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        # A hash of a digest, so a hash value reveals nothing useful about the secret.
        return hash(hashlib.sha256(b"keydrift-hash\0" + self._raw).digest())

    def __reduce__(self) -> NoReturn:
        raise TypeError("SecretValue cannot be pickled")

    def __copy__(self) -> SecretValue:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SecretValue:
        return self

    def equals(self, other: str | bytes | SecretValue) -> bool:
        """Constant-time comparison against another value."""
        if isinstance(other, SecretValue):
            other_bytes = other.reveal()
        elif isinstance(other, str):
            other_bytes = _utf8(other)
        else:
            other_bytes = bytes(other)
        return hmac.compare_digest(self._raw, other_bytes)


class ProvenanceKind(StrEnum):
    """How a process got its secret (compares equal to its string value)."""

    ENV = "env"
    FILE = "file"
    DOTENV = "dotenv"
    GENERATED = "generated"
    LITERAL = "literal"


def _utf8(value: str) -> bytes:
    """``value`` as UTF-8, or :class:`SecretEncodingError` holding nothing of it.

    A ``str`` read from a non-UTF-8 environment carries lone surrogates (PEP 383); encoding it
    raises ``UnicodeEncodeError`` whose ``.object`` is the whole secret. The error is raised
    after the ``except`` block, so not even ``__context__`` keeps that exception.
    """
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        pass
    from keydrift.errors import SecretEncodingError

    raise SecretEncodingError(
        "the secret is not valid UTF-8 text (raw bytes in an environment variable?)",
        advice="store the secret as text, e.g. the output of `keydrift generate`",
    )


@dataclass(frozen=True)
class Provenance:
    """Where a value came from: ``env JWT_SECRET_STAGING``, ``file /run/secrets/jwt``,
    ``.env.staging:12`` or ``generated /var/lib/app/jwt``."""

    kind: ProvenanceKind
    variable: str | None = None
    path: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.kind == "env":
            return f"env {self.variable}"
        if self.kind == "dotenv":
            where = f"{self.path}:{self.line}" if self.line else str(self.path)
            return f"{where} ({self.variable})" if self.variable else where
        if self.kind in ("file", "generated"):
            via = f" (via {self.variable}_FILE)" if self.variable else ""
            return f"{self.kind} {self.path}{via}"
        return self.kind


@dataclass(frozen=True)
class ResolvedSecret:
    """A secret plus where it came from. Its repr shows the fingerprint only."""

    value: SecretValue = field(repr=False)
    provenance: Provenance
    spec_name: str = "jwt"
    environment: str | None = None
    variable: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        return self.value.fingerprint

    @property
    def short_fingerprint(self) -> str:
        return self.value.short_fingerprint

    def __repr__(self) -> str:
        from keydrift.strength import display_fingerprint

        return (
            f"ResolvedSecret(spec={self.spec_name!r}, environment={self.environment!r}, "
            f"source={str(self.provenance)!r}, fp={display_fingerprint(self.value.reveal())})"
        )

    def __reduce__(self) -> NoReturn:
        raise TypeError("ResolvedSecret cannot be pickled")
