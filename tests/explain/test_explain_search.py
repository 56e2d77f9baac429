"""The known-weak scan's hand-written HMAC agrees with the standard library's, for every key
length (shorter, equal to and longer than the hash block) and every HS algorithm."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest

from keydrift.explain.search import _scan


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_scan_finds_exactly_the_key_hmac_would(alg: str) -> None:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    rng = random.Random(alg)
    keys = [rng.randbytes(n) for n in range(0, 300)] + [b""]
    message = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0"
    for target in (1, 63, 64, 65, 127, 128, 129, 299):
        signature = hmac.new(keys[target], message, digest).digest()
        assert _scan(keys, alg, message, signature) == target
    assert _scan(keys, alg, message, b"\0" * digest().digest_size) is None
