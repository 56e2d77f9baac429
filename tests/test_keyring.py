"""Keyring signing, verification, rotation and rejection reasons."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from keydrift import Keyring, TokenRejected, fingerprint
from keydrift.errors import MissingSecretError, UsageError, WeakSecretError
from keydrift.keys import short


def _s() -> str:
    return secrets.token_urlsafe(48)


def _reason(kr: Keyring, token: str, **kw: object) -> TokenRejected:
    with pytest.raises(TokenRejected) as info:
        kr.verify(token, **kw)  # type: ignore[arg-type]
    return info.value


def test_sign_sets_kid_iat_exp_iss_aud() -> None:
    secret = _s()
    kr = Keyring.from_secrets(secret, issuer="auth", audience="api", ttl=60)
    token = kr.sign({"sub": "u1"})
    header = jwt.get_unverified_header(token)
    assert header["kid"] == fingerprint(secret) == kr.current_kid
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience="api", issuer="auth")
    assert claims["exp"] - claims["iat"] == 60
    assert kr.verify(token)["sub"] == "u1"


def test_kids_and_fingerprint() -> None:
    a, b = _s(), _s()
    kr = Keyring.from_secrets(a, [b])
    assert kr.kids == (fingerprint(a), fingerprint(b))
    assert kr.fingerprint == short(fingerprint(a))
    assert [i.role for i in kr.keys_info()] == ["current", "previous"]


def test_rotation_previous_key_still_verifies() -> None:
    old, new = _s(), _s()
    old_token = Keyring.from_secrets(old).sign({"sub": "u"})
    rotated = Keyring.from_secrets(new, previous=[old])
    assert rotated.verify(old_token)["sub"] == "u"
    assert jwt.get_unverified_header(rotated.sign({}))["kid"] == fingerprint(new)
    # rotate() keeps the old current as previous
    again = rotated.rotate(_s())
    assert again.verify(old_token is not None and rotated.sign({"x": 1}))["x"] == 1


def test_rotated_out_key_rejected_with_unknown_kid() -> None:
    old, new = _s(), _s()
    token = Keyring.from_secrets(old).sign({})
    e = _reason(Keyring.from_secrets(new), token)
    assert e.reason == "unknown_kid"
    assert short(fingerprint(old)) in e.detail and short(fingerprint(new)) in e.detail


def test_token_without_kid_tries_each_key() -> None:
    a, b = _s(), _s()
    token = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, b, algorithm="HS256")
    assert Keyring.from_secrets(a, [b]).verify(token)["sub"] == "x"
    e = _reason(Keyring.from_secrets(a), token)
    assert e.reason == "signature" and "verifies it" in e.detail


def test_wrong_key_same_kid_is_signature() -> None:
    a, b = _s(), _s()
    forged = jwt.encode({"exp": int(time.time()) + 60}, b, algorithm="HS256",
                        headers={"kid": fingerprint(a)})
    assert _reason(Keyring.from_secrets(a), forged).reason == "signature"


def test_expired_detail() -> None:
    kr = Keyring.from_secrets(_s())
    token = kr.sign({}, now=time.time() - 3 * 3600 - 120, ttl=0)
    e = _reason(kr, token)
    assert e.reason == "expired"
    assert e.detail.startswith("expired 3h02m ago") or e.detail.startswith("expired 3h01m ago")


def test_not_yet_valid_and_iat_in_future() -> None:
    secret = _s()
    kr = Keyring.from_secrets(secret)
    now = int(time.time())
    nbf = jwt.encode({"exp": now + 600, "nbf": now + 40}, secret, algorithm="HS256")
    e = _reason(kr, nbf)
    assert e.reason == "not_yet_valid" and "not valid for another" in e.detail
    future = kr.sign({"iat": now + 120})
    e = _reason(kr, future)
    assert e.reason == "not_yet_valid" and "in the future: clock skew?" in e.detail
    assert kr.verify(future, leeway=180)


def test_audience_and_issuer() -> None:
    kr = Keyring.from_secrets(_s(), audience="web", issuer="auth")
    token = kr.sign({})
    e = _reason(kr, token, audience="api")
    assert e.reason == "audience" and "'web'" in e.detail and "'api'" in e.detail
    e = _reason(kr, token, issuer="other")
    assert e.reason == "issuer" and "'auth'" in e.detail and "'other'" in e.detail


def test_missing_claim() -> None:
    secret = _s()
    token = jwt.encode({"sub": "x"}, secret, algorithm="HS256")
    e = _reason(Keyring.from_secrets(secret), token)
    assert e.reason == "missing_claim" and "'exp'" in e.detail
    assert Keyring.from_secrets(secret, require=()).verify(token)["sub"] == "x"


def test_wrong_algorithm() -> None:
    secret = secrets.token_urlsafe(64)
    token = jwt.encode({"exp": int(time.time()) + 60}, secret, algorithm="HS512")
    e = _reason(Keyring.from_secrets(secret), token)
    assert e.reason == "algorithm" and "HS512" in e.detail


@pytest.mark.parametrize("bad", ["abc", "a.b", "a.b.c.d.e", "!!!.e30.x", "e30.e30", "W10.e30.x"])
def test_malformed(bad: str) -> None:
    assert _reason(Keyring.from_secrets(_s()), bad).reason == "malformed"


def test_jwe_is_explained() -> None:
    e = _reason(Keyring.from_secrets(_s()), "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d")
    assert e.reason == "malformed" and "JWE" in e.detail


def test_hs384_and_hs512_keyrings() -> None:
    for alg, n in (("HS384", 48), ("HS512", 64)):
        kr = Keyring.from_secrets(secrets.token_bytes(n), algorithm=alg)
        assert kr.verify(kr.sign({"a": alg}))["a"] == alg
        with pytest.raises(WeakSecretError):
            Keyring.from_secrets(secrets.token_bytes(n - 1), algorithm=alg)


@pytest.mark.parametrize(
    ("alg", "make"),
    [
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
        ("EdDSA", lambda: ed25519.Ed25519PrivateKey.generate()),
    ],
)
def test_asymmetric_keyrings(tmp_path: Path, alg: str, make: object) -> None:
    private = make()  # type: ignore[operator]
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    pub = private.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "k.pem").write_bytes(pem)
    (tmp_path / "k.pub").write_bytes(pub)
    signer = Keyring.from_pem_files(tmp_path / "k.pem", algorithm=alg)
    verifier = Keyring.from_pem_files(tmp_path / "k.pub", algorithm=alg)
    assert signer.current_kid == verifier.current_kid == fingerprint(private)
    assert verifier.verify(signer.sign({"sub": alg}))["sub"] == alg
    with pytest.raises(UsageError, match="cannot sign"):
        verifier.sign({})


def test_from_spec_with_previous(tmp_path: Path) -> None:
    cur, prev = _s(), _s()
    env = {"ENVIRONMENT": "staging", "JWT_SECRET_STAGING": cur, "JWT_SECRET_PREVIOUS": prev}
    kr = Keyring.from_spec(env=env)
    assert kr.kids == (fingerprint(cur), fingerprint(prev))
    assert kr.keys_info()[0].source == "env JWT_SECRET_STAGING"
    with pytest.raises(MissingSecretError):
        Keyring.from_spec(env={"ENVIRONMENT": "staging"})


def test_verify_rejects_bytes_that_are_not_ascii() -> None:
    assert _reason(Keyring.from_secrets(_s()), "é.é.é".encode()).reason == "malformed"
