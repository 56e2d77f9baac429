"""Item 6: every common form of public-key material is refused as an HMAC secret, by one function.

Accepted before as HS256 secrets by ``Keyring``, by ``resolve()`` in production ("strong") and by
``check`` (no finding): base64 SPKI without PEM armour (an identity provider's realm
``public_key``), public JWK JSON, ``ssh-rsa ...`` with leading whitespace and ``sk-ssh-...`` keys.
A token forged with the public key alone verified in production, because keydrift's prepared HMAC
key skips PyJWT's own refusal. ``keydrift.keys.is_public_key_material`` now recognises them all
and the keyring, the strength policy and ``check`` share it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
import struct
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from keydrift.cli.generate import new_secret
from keydrift.errors import TokenRejected, WeakSecretError
from keydrift.keyring import Keyring
from keydrift.keys import is_public_key_material
from keydrift.resolve import resolve
from keydrift.strength import check_strength

from .util import cli, write_tree

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_EC = ec.generate_private_key(ec.SECP256R1())
_PUB = _RSA.public_key()
_SPKI_DER = _PUB.public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
_B64_SPKI = base64.b64encode(_SPKI_DER).decode()


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _sk_ed25519() -> str:
    raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kind = b"sk-ssh-ed25519@openssh.com"
    blob = _ssh_string(kind) + _ssh_string(raw) + _ssh_string(b"ssh:")
    return f"{kind.decode()} {base64.b64encode(blob).decode()} user@laptop"


def _sk_ecdsa() -> str:
    point = _EC.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
    kind = b"sk-ecdsa-sha2-nistp256@openssh.com"
    blob = _ssh_string(kind) + _ssh_string(b"nistp256") + _ssh_string(point) + _ssh_string(b"ssh:")
    return f"{kind.decode()} {base64.b64encode(blob).decode()}"


def _certificate() -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.test")])
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(_PUB).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(_RSA, hashes.SHA256()))


def _openssh(key: object) -> str:
    return key.public_bytes(serialization.Encoding.OpenSSH,  # type: ignore[attr-defined]
                            serialization.PublicFormat.OpenSSH).decode()


_CERT = _certificate()
FORMS: dict[str, bytes] = {
    "base64-spki": _B64_SPKI.encode(),
    "base64-spki-wrapped": "\n".join(_B64_SPKI[i:i + 64]
                                     for i in range(0, len(_B64_SPKI), 64)).encode(),
    "base64url-spki": base64.urlsafe_b64encode(_SPKI_DER).rstrip(b"="),
    "public-jwk-rsa": json.dumps(RSAAlgorithm.to_jwk(_PUB, as_dict=True)).encode(),
    "public-jwk-ec": json.dumps(ECAlgorithm.to_jwk(_EC.public_key(), as_dict=True)).encode(),
    "jwks": json.dumps({"keys": [RSAAlgorithm.to_jwk(_PUB, as_dict=True)]}).encode(),
    "ssh-rsa-leading-space": ("   " + _openssh(_PUB)).encode(),
    "ssh-ed25519-tab": ("\t" + _openssh(ed25519.Ed25519PrivateKey.generate().public_key())
                        + " ops@bastion").encode(),
    "ecdsa-sha2": _openssh(_EC.public_key()).encode(),
    "ssh-blob-only": _openssh(_PUB).split()[1].encode(),
    "sk-ssh-ed25519": _sk_ed25519().encode(),
    "sk-ecdsa": _sk_ecdsa().encode(),
    "pem-spki-indented": b"  " + _PUB.public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo),
    "pem-pkcs1": _PUB.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
    "der-spki": _SPKI_DER,
    "der-pkcs1": _PUB.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1),
    "x509-pem": _CERT.public_bytes(serialization.Encoding.PEM),
    "x509-der": _CERT.public_bytes(serialization.Encoding.DER),
    "x509-base64": base64.b64encode(_CERT.public_bytes(serialization.Encoding.DER)),
    "ssh2-rfc4716": b"---- BEGIN SSH2 PUBLIC KEY ----\n"
                    + _openssh(_PUB).split()[1].encode() + b"\n---- END SSH2 PUBLIC KEY ----\n",
}
ONE_LINE = [k for k, v in FORMS.items() if b"\n" not in v.strip() and not k.startswith(("der", "x509-der"))]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(material: bytes) -> str:
    """What an attacker holding only the public key signs: HS256 keyed with the key's bytes."""
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": "admin", "exp": int(time.time()) + 600}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    sig = hmac.new(material, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(sig)}"


@pytest.mark.parametrize("form", list(FORMS))
def test_security_public_key_form_is_key_material(form: str) -> None:
    assert is_public_key_material(FORMS[form])
    assert check_strength(FORMS[form]).has("public_key")


@pytest.mark.parametrize("form", list(FORMS))
def test_security_public_key_form_refused_by_keyring_and_resolve(form: str) -> None:
    material = FORMS[form]
    with pytest.raises(WeakSecretError) as info:
        Keyring.from_secrets(material)
    assert "public_key" in info.value.problems
    text = material.decode("latin-1")
    if "\x00" not in text:  # environment variables cannot hold NUL bytes (DER sometimes has)
        with pytest.raises(WeakSecretError) as prod:
            resolve(environment="production", env={"JWT_SECRET": text})
        assert "public_key" in prod.value.problems
        for environment in ("production", "development"):
            with pytest.raises(WeakSecretError):
                Keyring.from_spec(environment=environment, env={"JWT_SECRET": text})


@pytest.mark.parametrize("form", ["base64-spki", "public-jwk-rsa", "ssh-rsa-leading-space",
                                  "sk-ssh-ed25519"])
def test_security_token_forged_with_public_key_alone_never_verifies(form: str) -> None:
    material = FORMS[form]
    forged = _forge(material)
    # The material cannot become a verifying key, whichever way a service is configured ...
    for make in (lambda: Keyring.from_secrets(material),
                 lambda: Keyring.from_spec(environment="production",
                                           env={"JWT_SECRET": material.decode()}),
                 lambda: Keyring.from_spec(environment="development",
                                           env={"JWT_SECRET": material.decode()})):
        with pytest.raises(WeakSecretError):
            make().verify(forged)
    # ... and the service's real keyring rejects the forgery.
    real = Keyring.from_secrets(secrets.token_bytes(32))
    with pytest.raises(TokenRejected) as info:
        real.verify(forged)
    assert info.value.reason == "signature"


def test_security_check_reports_public_key_material(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each form that fits on one .env line, in its own folder, as the default spec's variable.
    assert len(ONE_LINE) >= 10
    tree = write_tree(tmp_path / "repo", {
        f"svc-{n}/production.env": f"JWT_SECRET='{FORMS[n].decode()}'\n" for n in ONE_LINE
    })
    code, out, err = cli(capsys, "check", str(tree), "--format", "json", "--fail-on", "never")
    assert code == 0, err
    doc = json.loads(out)
    flagged = {f["locations"][0]["path"].split("/")[0] for f in doc["findings"]
               if "key material" in f["message"]}
    assert flagged == {f"svc-{n}" for n in ONE_LINE}


@pytest.mark.parametrize("fmt", ["urlsafe", "hex", "base64", "fernet"])
def test_generated_secrets_are_never_taken_for_keys(fmt: str) -> None:
    for nbytes in (32, 48, 64):
        for _ in range(700):
            assert not is_public_key_material(new_secret(nbytes, fmt).encode())


def test_security_der_ending_in_a_whitespace_byte_is_key_material() -> None:
    """About 1 in 40 DER certificates ends in a byte such as 0x0d or 0x20; stripping it before
    the length check let such a certificate through as an HMAC secret."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.test")])
    now = datetime.datetime.now(datetime.UTC)
    for _ in range(2000):
        der = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
               .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
        if der[-1:].isspace():
            break
    assert der[-1:].isspace()
    assert is_public_key_material(der)
    assert check_strength(der).has("public_key")
