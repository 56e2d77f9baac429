"""Key material: RFC 7638 fingerprints, PEM/DER loading, prepared HMAC states, key derivation.

A fingerprint is the RFC 7638 JWK thumbprint (SHA-256, base64url, no padding): for an HMAC secret
the thumbprint of its ``oct`` JWK, for RSA/EC/OKP keys that of the *public* JWK. Any JOSE library
in any language computes the same value, so a Go or Node service can report it too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from keydrift.errors import UsageError, WeakSecretError
from keydrift.secret import ResolvedSecret, SecretValue

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import (
        PrivateKeyTypes,
        PublicKeyTypes,
    )

__all__ = [
    "FERNET_HKDF_INFO",
    "PreparedHMAC",
    "derive_fernet_key",
    "fingerprint",
    "is_public_key_material",
    "jwk_thumbprint",
    "oct_thumbprint",
    "short",
]

SHORT_LEN = 12
# Fixed and documented: changing it would change every derived key everywhere.
FERNET_HKDF_INFO = b"keydrift/fernet/v1"
FERNET_HKDF_SALT = b"keydrift-fernet-salt-v1"

_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def short(thumbprint: str) -> str:
    """The displayed form of a fingerprint: its first 12 characters."""
    return thumbprint[:SHORT_LEN]


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 section 3: hash the required members, sorted, without whitespace."""
    required = {
        "oct": ("k", "kty"),
        "RSA": ("e", "kty", "n"),
        "EC": ("crv", "kty", "x", "y"),
        "OKP": ("crv", "kty", "x"),
    }
    kty = jwk.get("kty")
    if kty not in required:
        raise UsageError(f"cannot fingerprint a JWK of kty {kty!r}")
    members = {name: jwk[name] for name in required[kty]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True, ensure_ascii=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def oct_thumbprint(secret: bytes) -> str:
    """Thumbprint of an HMAC secret's ``oct`` JWK, computed without building a dict twice."""
    canonical = '{"k":"' + b64url(secret) + '","kty":"oct"}'
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


_PEM_BLOCK = re.compile(rb"-----BEGIN [A-Z0-9 ]+-----")
_PEM_ANY = re.compile(rb"-----BEGIN [A-Z0-9 ]+-----|---- BEGIN SSH2 PUBLIC KEY ----")
# OpenSSH public keys and certificates, anywhere on a line (authorized_keys lines may carry
# options or leading blanks first): "ssh-rsa AAAA...", "ecdsa-sha2-nistp256 AAAA...",
# "sk-ssh-ed25519@openssh.com AAAA...", "ssh-ed25519-cert-v01@openssh.com AAAA...".
_SSH_PUBLIC = re.compile(
    rb"(?:^|[\s\"',;=])(?:ssh-[a-z0-9]+|ecdsa-sha2-[a-z0-9]+|sk-(?:ssh|ecdsa)-[a-z0-9-]+)"
    rb"(?:-cert-v0[0-9])?(?:@openssh\.com)?[ \t]+AAAA[A-Za-z0-9+/]{16}"
)
# The base64 body of an SSH key alone starts with the length-prefixed key type.
_SSH_BLOB = re.compile(rb"^\x00\x00\x00[\x07-\x40](?:ssh-|ecdsa-|sk-)")
_B64_TEXT = re.compile(rb"^[A-Za-z0-9+/_\-\s]+={0,2}\s*$")
_SCAN_BYTES = 64 * 1024  # key material is a few KiB; longer values are only scanned at the head
# What base64 of key material can start with: its first character encodes the top six bits of
# the first decoded byte, which is 0x00 (an SSH key blob), 0x30 (DER), `{` (JWK JSON) or
# whitespace before it. Most random tokens start otherwise and skip the decoding.
_B64_KEY_STARTS = frozenset(b"AMeCDI")


def is_public_key_material(data: bytes) -> bool:
    """True for public (or private) key material of any common form: refused as HMAC secrets.

    Using a public key as an HMAC secret is the classic algorithm-confusion attack: anyone who
    has the public key can sign tokens. Public keys travel in many shapes, and a secret store
    holds whichever one someone pasted, so all are recognised here, in the one function the
    keyring, the resolver's strength policy and ``keydrift check`` share:

    - PEM armour of any kind (public, private, certificate, RFC 4716 SSH2), leading blanks or not;
    - DER: SubjectPublicKeyInfo, PKCS#1, X.509 certificates, PKCS#8/traditional private keys;
    - base64 of those DER forms without armour (an identity provider's ``public_key`` field);
    - OpenSSH keys and certificates, including ``sk-ssh-*``/``sk-ecdsa-*`` and bare key blobs;
    - JWK or JWKS JSON with an RSA, EC or OKP key, also base64-encoded.

    Detection does not require the key to parse as a valid key where its shape alone says what
    it is (a truncated or unsupported SSH key is still public): a false refusal of a value that
    looks exactly like a key costs a regenerated secret, a miss costs forged tokens.
    """
    head = data[:_SCAN_BYTES]
    if _PEM_ANY.search(head) or _SSH_PUBLIC.search(head):
        return True
    stripped = head.strip()
    # DER is binary: its last byte may be 0x0d or 0x20, which strip() would cut off.
    if _is_der_key(head) or _is_der_key(stripped) or _is_jwk_json(stripped):
        return True
    if len(stripped) >= 32 and stripped[0] in _B64_KEY_STARTS and _B64_TEXT.match(stripped):
        decoded = _b64_any(stripped)
        if decoded is not None and (
            _SSH_BLOB.match(decoded) or _is_der_key(decoded) or _is_jwk_json(decoded.strip())
        ):
            return True
    return False


def _b64_any(text: bytes) -> bytes | None:
    compact = re.sub(rb"\s+", b"", text).rstrip(b"=")
    padded = compact + b"=" * (-len(compact) % 4)
    try:
        if b"-" in compact or b"_" in compact:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _der_sequence(data: bytes) -> bool:
    """A DER SEQUENCE (0x30) whose encoded length is exactly the rest of ``data``.

    Every DER key and certificate is one; text that merely starts with "0" is not, so the
    parsers (and the import of cryptography's X.509 module) are skipped for it.
    """
    if len(data) < 40 or data[0] != 0x30:
        return False
    first = data[1]
    if first < 0x80:
        return first == len(data) - 2
    count = first & 0x7F
    if not 1 <= count <= 4 or len(data) < 2 + count:
        return False
    return int.from_bytes(data[2 : 2 + count], "big") == len(data) - 2 - count


def _is_der_key(data: bytes) -> bool:
    if not _der_sequence(data):
        return False
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import (
        load_der_private_key,
        load_der_public_key,
    )

    loaders: tuple[Any, ...] = (
        load_der_public_key,
        x509.load_der_x509_certificate,
        lambda raw: load_der_private_key(raw, password=None),
    )
    for loader in loaders:
        try:
            loader(data)
            return True
        except TypeError:
            return True  # an encrypted private key: still a key, not a secret
        except Exception:  # noqa: S112 - ValueError, UnsupportedAlgorithm: try the next form
            continue
    return False


def _is_der_public(data: bytes) -> bool:
    if data[:1] != b"\x30":
        return False
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        load_der_public_key(data)
    except Exception:
        return False
    return True


_ASYMMETRIC_KTY = frozenset({"RSA", "EC", "OKP"})


def _is_jwk_json(data: bytes) -> bool:
    if not data.startswith(b"{") or len(data) > _SCAN_BYTES:
        return False
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return False
    if not isinstance(doc, dict):
        return False
    keys = doc.get("keys")
    members = keys if isinstance(keys, list) else [doc]
    return any(isinstance(k, dict) and k.get("kty") in _ASYMMETRIC_KTY for k in members)


def load_pem_key(data: bytes) -> PrivateKeyTypes | PublicKeyTypes:
    """Load a PEM or DER private or public key; raise :class:`UsageError` otherwise."""
    from cryptography.hazmat.primitives import serialization

    loaders: list[Any] = []
    if b"-----BEGIN" in data:
        loaders = [serialization.load_pem_private_key, serialization.load_pem_public_key]
    else:
        loaders = [serialization.load_der_private_key, serialization.load_der_public_key]
    for loader in loaders:
        try:
            if loader in (serialization.load_pem_private_key, serialization.load_der_private_key):
                key: Any = loader(data, password=None)
            else:
                key = loader(data)
            return key  # type: ignore[no-any-return]
        except (ValueError, TypeError):
            continue
        except Exception:  # noqa: S112 - e.g. UnsupportedAlgorithm
            continue
    raise UsageError(
        "not a PEM or DER key (or it is encrypted)",
        advice="pass an unencrypted PKCS#8/PKCS#1/SPKI key",
    )


def public_jwk(key: Any) -> dict[str, Any]:
    """The public JWK of an RSA, EC or OKP key object (private keys give their public half)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

    if isinstance(key, rsa.RSAPrivateKey):
        key = key.public_key()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        key = key.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return RSAAlgorithm.to_jwk(key, as_dict=True)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ECAlgorithm.to_jwk(key, as_dict=True)
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return OKPAlgorithm.to_jwk(key, as_dict=True)
    raise UsageError(f"cannot fingerprint a key of type {type(key).__name__}")


def secret_bytes(key: str | bytes | SecretValue | ResolvedSecret) -> bytes:
    if isinstance(key, ResolvedSecret):
        return key.value.reveal()
    if isinstance(key, SecretValue):
        return key.reveal()
    if isinstance(key, str):
        return SecretValue(key).reveal()  # one clean error for text that is not UTF-8
    return bytes(key)


def fingerprint(key: Any, *, full: bool = True) -> str:
    """RFC 7638 thumbprint of ``key``.

    ``key`` may be an HMAC secret (``str``, ``bytes``, :class:`SecretValue`,
    :class:`ResolvedSecret`) or an RSA/EC/OKP key object; PEM/DER key bytes are fingerprinted as
    the public key they hold. ``full=False`` gives the 12-character display form.
    """
    if isinstance(key, str | bytes | SecretValue | ResolvedSecret):
        raw = secret_bytes(key)
        if _PEM_BLOCK.search(raw[:4096]) or _is_der_public(raw):
            thumb = jwk_thumbprint(public_jwk(load_pem_key(raw)))
        else:
            thumb = oct_thumbprint(raw)
    else:
        thumb = jwk_thumbprint(public_jwk(key))
    return thumb if full else short(thumb)


class PreparedHMAC:
    """HMAC with the inner and outer pad states computed once (RFC 2104).

    ``hmac.new`` rehashes the padded key on every call; copying two prepared hash states is
    several times cheaper, which matters when one token is tested against 100,000 keys or a
    hot verify path checks every request. ``hashlib`` has no public "keyed state" API, so this
    small construction is written here.
    """

    __slots__ = ("_inner", "_outer", "digest_size")

    def __init__(self, key: bytes, algorithm: str = "HS256") -> None:
        try:
            hasher = _HASHES[algorithm]
        except KeyError:
            raise UsageError(f"{algorithm} is not an HMAC algorithm") from None
        block = hasher().block_size
        if len(key) > block:
            key = hasher(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hasher(key.translate(_TRANS_36))
        self._outer = hasher(key.translate(_TRANS_5C))
        self.digest_size = self._inner.digest_size

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def __repr__(self) -> str:
        return "PreparedHMAC(<hidden>)"

    def __reduce__(self) -> Any:
        raise TypeError("PreparedHMAC cannot be pickled")


_TRANS_5C = bytes(x ^ 0x5C for x in range(256))
_TRANS_36 = bytes(x ^ 0x36 for x in range(256))


def derive_fernet_key(secret: str | bytes | SecretValue | ResolvedSecret) -> bytes:
    """A Fernet key derived from ``secret`` with HKDF-SHA256.

    Deterministic: every process and machine derives the same key from the same secret, whatever
    the secret's format (urlsafe token, Fernet key, hex, any string of 32+ characters): the
    secret's bytes are the HKDF input as they are, never re-decoded. Salt
    ``keydrift-fernet-salt-v1`` and info ``keydrift/fernet/v1`` are fixed.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = secret_bytes(secret)
    if len(raw) < 32:
        raise WeakSecretError(
            f"secret is {len(raw)} bytes; key derivation needs at least 32",
            advice="generate one with `keydrift generate`",
        )
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=FERNET_HKDF_SALT, info=FERNET_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(raw))
