"""Fingerprints must equal the RFC 7638 thumbprints other JOSE libraries compute."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st
from jwcrypto import jwk

from keydrift.errors import WeakSecretError
from keydrift.keys import PreparedHMAC, derive_fernet_key, fingerprint, jwk_thumbprint, short
from keydrift.secret import SecretValue


def _jwcrypto_thumbprint_of_pem(pem: bytes) -> str:
    key = jwk.JWK.from_pem(pem)
    return str(key.thumbprint())


def test_rfc7638_example_vector() -> None:
    # The RSA example of RFC 7638 section 3.1 and its published thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
        "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
        "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQF"
        "h6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    assert jwk_thumbprint({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "x"}) == (
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    )


@pytest.mark.parametrize("secret", [b"k" * 32, secrets.token_bytes(64), b"\x00\xff" * 20])
def test_hmac_fingerprint_matches_jwcrypto(secret: bytes) -> None:
    key = jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(secret).rstrip(b"=").decode())
    assert fingerprint(secret) == key.thumbprint()
    assert fingerprint(SecretValue(secret)) == key.thumbprint()


def test_hmac_fingerprint_matches_pyjwt_jwk() -> None:
    from jwt.algorithms import HMACAlgorithm

    secret = secrets.token_bytes(48)
    as_jwk = json.loads(HMACAlgorithm.to_jwk(secret))
    assert fingerprint(secret) == jwk_thumbprint(as_jwk)


def _pem_pair(private: object) -> tuple[bytes, bytes]:
    priv = private.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pub = private.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return priv, pub


@pytest.mark.parametrize(
    "make",
    [
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ed25519.Ed25519PrivateKey.generate(),
    ],
    ids=["rsa", "ec-p256", "ec-p384", "ed25519"],
)
def test_asymmetric_fingerprint_matches_jwcrypto(make: object) -> None:
    private = make()  # type: ignore[operator]
    priv_pem, pub_pem = _pem_pair(private)
    expected = _jwcrypto_thumbprint_of_pem(pub_pem)
    assert fingerprint(private) == expected
    assert fingerprint(private.public_key()) == expected
    assert fingerprint(pub_pem) == expected  # PEM bytes fingerprint as the public key they hold
    assert fingerprint(priv_pem) == expected  # and a private key as its public half


def test_short_form() -> None:
    fp = fingerprint(b"x" * 32)
    assert short(fp) == fp[:12] and len(short(fp)) == 12
    assert fingerprint(b"x" * 32, full=False) == fp[:12]


@given(st.binary(min_size=1, max_size=300), st.binary(max_size=500),
       st.sampled_from(["HS256", "HS384", "HS512"]))
def test_prepared_hmac_equals_stdlib(key: bytes, msg: bytes, alg: str) -> None:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    assert PreparedHMAC(key, alg).digest(msg) == hmac.new(key, msg, digest).digest()


def test_prepared_hmac_repr_hides_key() -> None:
    key = b"super-secret-value-that-must-not-leak-0123"
    assert b"super" not in repr(PreparedHMAC(key)).encode()


@pytest.mark.parametrize(
    "secret",
    [
        secrets.token_urlsafe(32),
        Fernet.generate_key().decode(),
        secrets.token_hex(32),
        "a sentence long enough to be a secret of 32+ characters",
    ],
    ids=["urlsafe", "fernet", "hex", "passphrase"],
)
def test_derive_fernet_key_is_deterministic_and_valid(secret: str) -> None:
    one = derive_fernet_key(secret)
    assert one == derive_fernet_key(secret.encode()) == derive_fernet_key(SecretValue(secret))
    token = Fernet(one).encrypt(b"payload")
    assert Fernet(derive_fernet_key(secret)).decrypt(token) == b"payload"
    assert derive_fernet_key(secret + "x") != one


def test_derive_fernet_key_fixed_vector() -> None:
    # Known answer: pins the documented salt and info. Changing them would silently change every
    # derived key in every deployment.
    expected = b"vnqtCy4HP9xC4SM5sbvNchbPaNtV3q628H9AvPXG3nI="
    assert derive_fernet_key("0123456789abcdef0123456789abcdef") == expected


def test_derive_fernet_key_refuses_short() -> None:
    with pytest.raises(WeakSecretError):
        derive_fernet_key("short")


def test_base64_key_gate_gives_the_ungated_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """``is_public_key_material`` decodes base64 only when its first character can start key
    material (an SSH blob, DER, JWK JSON or whitespace before it); with the gate opened to every
    character, every value must get the same verdict."""
    import random

    from keydrift import keys

    rng = random.Random(17)
    ed = ed25519.Ed25519PrivateKey.generate()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    blobs = [
        ed.public_key().public_bytes(serialization.Encoding.DER,
                                     serialization.PublicFormat.SubjectPublicKeyInfo),
        ec_key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo),
        ed.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                         serialization.NoEncryption()),
        ed.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                     serialization.PublicFormat.OpenSSH).split()[1],
        json.dumps({"kty": "OKP", "crv": "Ed25519",
                    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}).encode(),
    ]
    values: list[bytes] = []
    for blob in blobs:
        raw = base64.b64decode(blob) if blob.startswith(b"AAAA") else blob
        for lead in (b"", b" ", b"\n", b"\t", b"\r\n", b"\x0b", b"\x0c"):
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                values.append(encode(lead + raw))
                values.append(encode(lead + raw).rstrip(b"="))
    for _ in range(3_000):
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(24, 60)))
        if rng.random() < 0.3:
            raw = rng.choice([b"\x00\x00\x00\x0bssh-ed25519", b"0\x82", b"{", b" {", b"\x30"]) + raw
        values.append(rng.choice([base64.b64encode, base64.urlsafe_b64encode])(raw))
    gated = [keys.is_public_key_material(v) for v in values]
    monkeypatch.setattr(keys, "_B64_KEY_STARTS", frozenset(range(256)))
    assert [keys.is_public_key_material(v) for v in values] == gated
    assert sum(gated) >= 40 and gated.count(False) > 2_500  # both verdicts were exercised
