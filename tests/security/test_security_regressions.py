"""Named security regressions: each attack is refused with the right reason and never crashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from keydrift import Keyring, TokenRejected, check_strength
from keydrift.errors import WeakSecretError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, object], claims: dict[str, object], key: bytes) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(sig)}"


def _claims() -> dict[str, object]:
    return {"sub": "admin", "exp": int(time.time()) + 600}


@pytest.fixture
def secret() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def keyring(secret: bytes) -> Keyring:
    return Keyring.from_secrets(secret)


def _reason(kr: Keyring, token: str) -> str:
    with pytest.raises(TokenRejected) as info:
        kr.verify(token)
    return info.value.reason


def test_security_alg_none_refused(keyring: Keyring) -> None:
    for alg in ("none", "None", "NONE", ""):
        header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        token = f"{header}.{_b64(json.dumps(_claims()).encode())}."
        assert _reason(keyring, token) == "algorithm"


@pytest.mark.parametrize("encoding", ["pem", "der"])
@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_security_public_key_refused_as_hmac_secret(encoding: str, kind: str) -> None:
    private = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa"
               else ec.generate_private_key(ec.SECP256R1()))
    enc = serialization.Encoding.PEM if encoding == "pem" else serialization.Encoding.DER
    public = private.public_key().public_bytes(enc, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(WeakSecretError) as info:
        Keyring.from_secrets(public)
    assert "public_key" in info.value.problems
    assert check_strength(public).has("public_key")


def test_security_key_confusion_token_refused_by_asymmetric_keyring() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    verifier = Keyring.from_secrets(pub_pem, algorithm="RS256")
    forged = _forge({"alg": "HS256", "typ": "JWT"}, _claims(), pub_pem)
    assert _reason(verifier, forged) == "algorithm"


def test_security_huge_kid_refused(keyring: Keyring, secret: bytes) -> None:
    token = _forge({"alg": "HS256", "kid": "k" * 10_000}, _claims(), secret)
    with pytest.raises(TokenRejected) as info:
        keyring.verify(token)
    assert info.value.reason == "malformed"
    assert len(str(info.value)) < 1000  # the kid is not echoed back in full


@pytest.mark.parametrize("kid", ["../../etc/passwd", "/dev/null", "..\\..\\win.ini", "a\nb",
                                 "x\x00y"])
def test_security_kid_with_path_characters_refused(keyring: Keyring, secret: bytes,
                                                   kid: str) -> None:
    token = _forge({"alg": "HS256", "kid": kid}, _claims(), secret)
    assert _reason(keyring, token) == "malformed"


@pytest.mark.parametrize("kid", [123, None, ["a"], {"a": 1}])
def test_security_non_string_kid(keyring: Keyring, secret: bytes, kid: object) -> None:
    token = _forge({"alg": "HS256", "kid": kid}, _claims(), secret)
    assert _reason(keyring, token) == "malformed"


def test_security_token_over_64k_refused(keyring: Keyring, secret: bytes) -> None:
    claims = _claims() | {"pad": "x" * (70 * 1024)}
    token = _forge({"alg": "HS256"}, claims, secret)
    with pytest.raises(TokenRejected) as info:
        keyring.verify(token)
    assert info.value.reason == "malformed" and "64 KiB" in info.value.detail


def test_security_unknown_crit_header_refused(keyring: Keyring, secret: bytes) -> None:
    token = _forge({"alg": "HS256", "crit": ["exp-unknown"], "exp-unknown": 1}, _claims(), secret)
    assert _reason(keyring, token) == "malformed"


def test_security_token_signed_outside_keyring(keyring: Keyring) -> None:
    outsider = Keyring.from_secrets(secrets.token_bytes(32))
    assert _reason(keyring, outsider.sign({"sub": "admin"})) == "unknown_kid"
    no_kid = jwt.encode(_claims(), secrets.token_bytes(32), algorithm="HS256")
    assert _reason(keyring, no_kid) == "signature"


def test_security_deeply_nested_header_does_not_crash(keyring: Keyring) -> None:
    header = _b64(b"[" * 100_000 + b"]" * 100_000)
    assert _reason(keyring, f"{header}.e30.sig") == "malformed"


def test_security_embedded_jwk_header_is_not_trusted(keyring: Keyring) -> None:
    attacker = secrets.token_bytes(32)
    jwk = {"kty": "oct", "k": _b64(attacker)}
    token = _forge({"alg": "HS256", "jwk": jwk}, _claims(), attacker)
    assert _reason(keyring, token) == "signature"


def test_security_header_preread_cache_does_not_skip_verification(keyring: Keyring) -> None:
    # The keyring memoizes header parsing per header segment; a token that reuses a trusted
    # header with another payload must still fail on its signature.
    good = keyring.sign({"sub": "user"})
    assert keyring.verify(good)["sub"] == "user"
    header, _, signature = good.split(".")
    evil_payload = _b64(json.dumps({"sub": "admin", "exp": int(time.time()) + 600}).encode())
    assert _reason(keyring, f"{header}.{evil_payload}.{signature}") == "signature"
    assert keyring.verify(good)["sub"] == "user"  # the cached header still serves good tokens
