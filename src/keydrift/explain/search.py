"""Which key signed a token: prepared candidate keys and the known-weak list.

Candidate keys are prepared once (:class:`keydrift.keys.PreparedHMAC`: the inner and outer pad
states are hashed when the key is added and copied per check), so testing a token, or many
tokens, against every candidate and variant never re-derives a key.

The known-weak list is the opposite case: 104,000 keys, each used once. Preparing them would cost
more than checking them, so :func:`weak_secret_search` computes each HMAC in one pass with the
pads written out (``sha256(k ^ ipad || msg)``), which measures about 1.5x faster than the C
one-shot ``hmac.digest`` on OpenSSL 3 (whose per-call provider lookup dominates for short keys).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from keydrift.keys import PreparedHMAC
from keydrift.secret import SecretValue

__all__ = ["KeyMatch", "PreparedKeys", "WeakHit", "hmac_name", "weak_secret_search"]

_HASHES: dict[str, Callable[..., Any]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}
_TRANS_36 = bytes(x ^ 0x36 for x in range(256))
_TRANS_5C = bytes(x ^ 0x5C for x in range(256))


def hmac_name(alg: object) -> str | None:
    """``HS256`` for an HMAC ``alg`` header value, else ``None``."""
    return alg if isinstance(alg, str) and alg in _HASHES else None


@dataclass(frozen=True)
class KeyMatch:
    """``key_id`` (the caller's label for a key) verifies the token."""

    key_id: int
    algorithm: str


class PreparedKeys:
    """A set of HMAC keys with pad states prepared per algorithm on first use."""

    def __init__(self, keys: Iterable[bytes] = ()) -> None:
        self._keys: list[bytes] = []
        self._prepared: dict[str, list[PreparedHMAC]] = {}
        for key in keys:
            self.add(key)

    def add(self, key: bytes) -> int:
        """Add ``key``; returns its id (its position)."""
        self._keys.append(key)
        for alg, prepared in self._prepared.items():
            prepared.append(PreparedHMAC(key, alg))
        return len(self._keys) - 1

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"PreparedKeys({len(self._keys)} keys)"

    def _for(self, alg: str) -> list[PreparedHMAC]:
        prepared = self._prepared.get(alg)
        if prepared is None:
            prepared = [PreparedHMAC(key, alg) for key in self._keys]
            self._prepared[alg] = prepared
        return prepared

    def matches(self, alg: str, signing_input: bytes, signature: bytes) -> list[int]:
        """Ids of every key whose ``alg`` HMAC over ``signing_input`` equals ``signature``."""
        if alg not in _HASHES:
            return []
        prepared = self._for(alg)
        if not prepared or len(signature) != prepared[0].digest_size:
            return []
        same = hmac.compare_digest  # constant-time: the digests come from candidate secrets
        return [i for i, p in enumerate(prepared) if same(p.digest(signing_input), signature)]


@dataclass(frozen=True)
class WeakHit:
    """The token is signed with a public known-weak secret."""

    list_name: str  # "jwt-secrets" (wallarm, MIT), "keydrift-extra" or "empty"
    entry: int  # 1-based line number in that list
    secret: SecretValue = field(repr=False)

    @property
    def description(self) -> str:
        # Never the entry number: the list ships with keydrift, so its index is the secret
        # (issue 12). ``--show-weak-secret`` is the one deliberate way to see it.
        if self.list_name == "empty":
            return "the empty secret (a signer with no secret configured)"
        if self.list_name == "jwt-secrets":
            return "in a public list of known JWT secrets"
        return "in keydrift's list of published application defaults"


def _scan(
    entries: Sequence[bytes], alg: str, signing_input: bytes, signature: bytes
) -> int | None:
    new = _HASHES[alg]
    block = new().block_size
    # The pad bytes after a key of each length, and the message after the inner pad, built once
    # per scan rather than sliced and concatenated per entry.
    inner_tail = [b"\x36" * (block - n) + signing_input for n in range(block + 1)]
    outer_tail = [b"\x5c" * (block - n) for n in range(block + 1)]
    t36, t5c = _TRANS_36, _TRANS_5C
    # A signature is public: comparing it with == leaks nothing worth a constant-time compare,
    # and this loop is the hot path (one iteration per list entry).
    index = -1
    for key in entries:
        index += 1
        size = len(key)
        if size > block:
            key = new(key).digest()
            size = len(key)
        elif not size:
            continue  # blank lines of the list file; the empty key is tested on its own
        inner = new(key.translate(t36) + inner_tail[size]).digest()
        if new(key.translate(t5c) + outer_tail[size] + inner).digest() == signature:
            return index
    return None


def weak_secret_search(
    alg: str,
    signing_input: bytes,
    signature: bytes,
    *,
    entries: Sequence[bytes] | None = None,
    extra: Sequence[bytes] | None = None,
) -> WeakHit | None:
    """Test the token against every known-weak secret (all of them: weak ones are short)."""
    if alg not in _HASHES or len(signature) != _HASHES[alg]().digest_size:
        return None
    if entries is None or extra is None:
        from keydrift.strength import extra_weak_entries, known_weak_entries

        entries = known_weak_entries() if entries is None else entries
        extra = extra_weak_entries() if extra is None else extra
    if hmac.compare_digest(hmac.digest(b"", signing_input, alg.replace("HS", "sha")), signature):
        return WeakHit("empty", 0, SecretValue(b""))
    index = _scan(entries, alg, signing_input, signature)
    if index is not None:
        return WeakHit("jwt-secrets", index + 1, SecretValue(entries[index]))
    index = _scan(extra, alg, signing_input, signature)
    if index is not None:
        return WeakHit("keydrift-extra", _extra_line(extra[index]), SecretValue(extra[index]))
    return None


def _extra_line(entry: bytes) -> int:
    from keydrift.strength import known_weak_lookup

    found = known_weak_lookup(entry)
    return found[1] if found and found[0] == "keydrift-extra" else 0
