"""A rotating keyring: one current signing key, previous verification keys, each named by ``kid``.

Signing and verification run on PyJWT with an explicit one-algorithm allowlist. Keys are prepared
once when the keyring is built (HMAC pad states, parsed PEM keys), not on every call, so
``Keyring.verify`` is faster than a plain ``jwt.decode``. Every rejection raises
:class:`~keydrift.errors.TokenRejected` with a stable ``reason``, a ``detail`` that is safe to
log, and advice.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hmac
import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

from keydrift._format import duration
from keydrift.errors import TokenRejected, UsageError, WeakSecretError
from keydrift.keys import (
    PreparedHMAC,
    fingerprint,
    is_public_key_material,
    load_pem_key,
    secret_bytes,
    short,
)
from keydrift.secret import Provenance, ProvenanceKind, ResolvedSecret, SecretValue
from keydrift.spec import ALGORITHMS, DEFAULT_JWT_SPEC, HMAC_ALGORITHMS, MIN_HMAC_BYTES, SecretSpec
from keydrift.strength import display_fingerprint

__all__ = ["MAX_KID_LENGTH", "MAX_TOKEN_BYTES", "TIME_CLAIMS", "KeyInfo", "Keyring", "numeric_date"]

MAX_TOKEN_BYTES = 64 * 1024
MAX_KID_LENGTH = 256
DEFAULT_TTL = 900

KeyInput = str | bytes | SecretValue | ResolvedSecret | Any


@dataclass(frozen=True)
class KeyInfo:
    """Public facts about one key of a keyring (never the key)."""

    kid: str
    role: str  # "current" or "previous"
    source: str
    can_sign: bool
    provenance: Provenance = field(default_factory=lambda: Provenance(ProvenanceKind.LITERAL))
    """Where the key came from, as the resolver found it (a literal when handed in as such)."""
    warnings: tuple[str, ...] = ()
    """The resolver's strength warnings for a weak key accepted outside production-like
    environments (categories only, never a value)."""


class _Key:
    __slots__ = ("can_sign", "kid", "provenance", "sign_key", "source", "verify_key", "warnings")

    def __init__(
        self, kid: str, sign_key: Any, verify_key: Any, source: str, provenance: Provenance,
        warnings: tuple[str, ...],
    ) -> None:
        self.kid = kid
        self.sign_key = sign_key
        self.verify_key = verify_key
        self.source = source
        self.provenance = provenance
        self.warnings = warnings
        self.can_sign = sign_key is not None

    def __repr__(self) -> str:
        return f"_Key(kid={short(self.kid)})"


class _PreparedHMACAlgorithm(HMACAlgorithm):
    """PyJWT's HMAC algorithm fed with a :class:`PreparedHMAC` instead of raw key bytes.

    PyJWT re-validates and re-pads an HMAC key on every decode (PEM sniffing, ``hmac.new``); the
    keyring validated each key once at construction (length, public-key material), so here the
    prepared state is used as it is.
    """

    def prepare_key(self, key: Any) -> Any:
        if not isinstance(key, PreparedHMAC):
            raise jwt.InvalidKeyError("keyring HMAC keys must be prepared")
        return key

    def sign(self, msg: bytes, key: Any) -> bytes:
        prepared: PreparedHMAC = key
        return prepared.digest(msg)

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        prepared: PreparedHMAC = key
        return hmac.compare_digest(prepared.digest(msg), sig)

    def check_key_length(self, key: Any) -> str | None:
        return None  # enforced once, in Keyring._prepare


TIME_CLAIMS = ("exp", "nbf", "iat")


def numeric_date(value: Any) -> float | None:
    """``value`` as an RFC 7519 NumericDate, or ``None`` when it is not one.

    A NumericDate is a JSON number: ``int`` or ``float``, never a string (PyJWT would convert
    ``"9999999999"``) nor a boolean. It must also be finite and fit an IEEE double, which is how
    JavaScript, Go and most JOSE libraries read JSON numbers: ``1e400`` or ``10**400`` there is
    Infinity or an error, so no two verifiers would agree on it. The keyring and
    ``keydrift explain`` apply this one rule.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


class _NumericDateJWT(jwt.PyJWT):
    """PyJWT whose time claims must be NumericDates before its own checks run.

    ``_decode_payload`` is PyJWT's documented extension point ("intended to be overridden by
    subclasses"); it runs after the signature check and before claim validation, so a forged
    token still fails on its signature first.
    """

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        payload = super()._decode_payload(decoded)
        for name in TIME_CLAIMS:
            if name in payload and numeric_date(payload[name]) is None:
                raise jwt.DecodeError(
                    f"'{name}' is not a NumericDate (RFC 7519: a JSON number, finite, within "
                    "the range of a double)"
                )
        return payload


class Keyring:
    """One current signing key plus previous keys kept for verification during rotation."""

    def __init__(
        self,
        current: KeyInput,
        previous: Iterable[KeyInput] = (),
        *,
        algorithm: str = "HS256",
        issuer: str | None = None,
        audience: str | Sequence[str] | None = None,
        ttl: int | timedelta = DEFAULT_TTL,
        leeway: int | timedelta = 0,
        require: Sequence[str] = ("exp",),
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise UsageError(
                f"unsupported algorithm {algorithm!r}", advice=f"use one of {', '.join(ALGORITHMS)}"
            )
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.ttl = _seconds(ttl)
        self.leeway = _seconds(leeway)
        self.require = tuple(require)
        keys = [self._prepare(current, "current")]
        seen = {keys[0].kid}
        for item in previous:
            key = self._prepare(item, "previous")
            if key.kid not in seen:
                keys.append(key)
                seen.add(key.kid)
        self._keys: tuple[_Key, ...] = tuple(keys)
        self._by_kid = {k.kid: k for k in keys}
        self._algorithms = [algorithm]
        # One PyJWT instance per keyring whose JWS layer knows only this keyring's algorithm.
        # PyJWT exposes no public hook to register an algorithm on a PyJWT (JWT) object, so the
        # JWS layer is replaced through its `_jws` attribute (stable since PyJWT 2.0; pinned < 3).
        self._jwt = _NumericDateJWT(options={"enforce_minimum_key_length": True})
        jws = jwt.PyJWS(algorithms=self._algorithms, options={"enforce_minimum_key_length": True})
        if algorithm in HMAC_ALGORITHMS:
            jws.unregister_algorithm(algorithm)
            jws.register_algorithm(algorithm, _PreparedHMACAlgorithm(_HASH_OF[algorithm]))
        self._jwt._jws = jws

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_secrets(
        cls,
        current: KeyInput,
        previous: Iterable[KeyInput] = (),
        algorithm: str = "HS256",
        **kwargs: Any,
    ) -> Keyring:
        """Build from ``str``/``bytes`` secrets, resolved secrets, PEM/DER bytes or key objects."""
        return cls(current, previous, algorithm=algorithm, **kwargs)

    @classmethod
    def from_spec(
        cls,
        spec: SecretSpec | None = None,
        environment: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        dotenv_path: str | os.PathLike[str] | None = None,
        generate_into: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> Keyring:
        """Resolve the current secret (and any ``JWT_SECRET_PREVIOUS``) and build a keyring."""
        from keydrift.errors import MissingSecretError
        from keydrift.resolve import resolve, resolve_environment

        spec = spec or DEFAULT_JWT_SPEC
        env = os.environ if env is None else env
        if environment is None:
            environment = resolve_environment(spec, env=env, dotenv_path=dotenv_path)
        current = resolve(
            spec, environment, env=env, dotenv_path=dotenv_path, generate_into=generate_into
        )
        previous: list[ResolvedSecret] = []
        for name in spec.previous_for(environment):
            # Every other field (file suffix, strength policy) is the spec's own.
            prev_spec = dataclasses.replace(
                spec, name=f"{spec.name} previous", variables=(name,), previous_variables=()
            )
            try:
                previous.append(resolve(prev_spec, environment, env=env, dotenv_path=dotenv_path))
            except MissingSecretError:
                continue
        return cls(current, previous, algorithm=spec.algorithm, **kwargs)

    @classmethod
    def from_pem_files(
        cls, current: str | os.PathLike[str], previous: Iterable[str | os.PathLike[str]] = (),
        algorithm: str = "RS256", **kwargs: Any,
    ) -> Keyring:
        """Build an asymmetric keyring from PEM/DER files (private key to sign, public to verify)."""

        def load(path: str | os.PathLike[str]) -> Any:
            try:
                with open(path, "rb") as fh:
                    return load_pem_key(fh.read())
            except OSError as exc:
                raise UsageError(f"cannot read key file ({exc.strerror})", where=str(path)) from None
            except UsageError as exc:
                raise UsageError(exc.message, where=str(path), advice=exc.advice) from None

        return cls(load(current), [load(p) for p in previous], algorithm=algorithm, **kwargs)

    def _prepare(self, key: KeyInput, role: str) -> _Key:
        source = str(key.provenance) if isinstance(key, ResolvedSecret) else role
        provenance = (
            key.provenance if isinstance(key, ResolvedSecret) else Provenance(ProvenanceKind.LITERAL)
        )
        warnings = key.warnings if isinstance(key, ResolvedSecret) else ()
        if self.algorithm in HMAC_ALGORITHMS:
            if not isinstance(key, str | bytes | SecretValue | ResolvedSecret):
                raise UsageError(
                    f"{self.algorithm} needs a shared secret, not a {type(key).__name__}",
                    advice="pass the secret as str or bytes, or use RS256/ES256/EdDSA for key pairs",
                )
            raw = secret_bytes(key)
            if is_public_key_material(raw):
                raise WeakSecretError(
                    f"the {role} key is key material (PEM, DER, SSH or JWK), refused as an "
                    f"{self.algorithm} secret: anyone holding the public key could forge tokens "
                    "(algorithm confusion)",
                    problems=("public_key",),
                    advice=f"use a random secret for {self.algorithm}, or the key pair with RS256/ES256",
                )
            required = MIN_HMAC_BYTES[self.algorithm]
            if len(raw) < required:
                raise WeakSecretError(
                    f"the {role} key ({display_fingerprint(raw)}) is {len(raw)} bytes; RFC 7518 "
                    f"section 3.2 requires at least {required} for {self.algorithm}",
                    problems=("too_short",),
                    advice="generate one with `keydrift generate`",
                )
            prepared = PreparedHMAC(raw, self.algorithm)
            return _Key(fingerprint(raw), prepared, prepared, source, provenance, warnings)
        # Asymmetric: accept key objects or PEM/DER bytes.
        if isinstance(key, str | bytes | SecretValue | ResolvedSecret):
            key_obj: Any = load_pem_key(secret_bytes(key))
        else:
            key_obj = key
        from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

        private_types = (
            rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey,
            ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey,
        )
        if isinstance(key_obj, private_types):
            sign_key, verify_key = key_obj, key_obj.public_key()
        else:
            sign_key, verify_key = None, key_obj
        self._check_asymmetric(verify_key, role)
        return _Key(fingerprint(verify_key), sign_key, verify_key, source, provenance, warnings)

    def _check_asymmetric(self, key: Any, role: str) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

        family = self.algorithm[:2]
        ok = (
            (family in ("RS", "PS") and isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048)
            or (family == "ES" and isinstance(key, ec.EllipticCurvePublicKey))
            or (self.algorithm == "EdDSA"
                and isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey))
        )
        if not ok:
            raise UsageError(
                f"the {role} key ({type(key).__name__}) does not fit {self.algorithm}",
                advice="RS* needs an RSA key of 2048 bits or more, ES* an EC key, EdDSA an Ed25519 key",
            )

    # --- facts ---------------------------------------------------------------------------------

    @property
    def current_kid(self) -> str:
        return self._keys[0].kid

    @property
    def kids(self) -> tuple[str, ...]:
        """Full thumbprints of every key, current first."""
        return tuple(k.kid for k in self._keys)

    @property
    def fingerprint(self) -> str:
        """Short (12-character) fingerprint of the current key."""
        return short(self._keys[0].kid)

    def keys_info(self) -> tuple[KeyInfo, ...]:
        return tuple(
            KeyInfo(k.kid, "current" if i == 0 else "previous", k.source, k.can_sign,
                    k.provenance, k.warnings)
            for i, k in enumerate(self._keys)
        )

    def rotate(self, new_current: KeyInput, *, keep: int = 1) -> Keyring:
        """A new keyring with ``new_current`` signing and the ``keep`` newest old keys verifying."""
        clone = Keyring.__new__(Keyring)
        clone.__dict__.update(self.__dict__)
        new_key = clone._prepare(new_current, "current")
        old = [k for k in self._keys if k.kid != new_key.kid][:keep]
        clone._keys = (new_key, *old)
        clone._by_kid = {k.kid: k for k in clone._keys}
        return clone

    def __repr__(self) -> str:
        kids = ", ".join(short(k) for k in self.kids)
        return f"Keyring({self.algorithm}, kids=[{kids}])"

    def __reduce__(self) -> Any:
        raise TypeError("Keyring cannot be pickled")

    # --- signing -------------------------------------------------------------------------------

    def sign(
        self,
        claims: Mapping[str, Any],
        ttl: int | timedelta | None = None,
        *,
        headers: Mapping[str, Any] | None = None,
        now: float | None = None,
    ) -> str:
        """Sign ``claims`` with the current key; sets ``kid``, ``iat``, ``exp`` (and iss/aud)."""
        key = self._keys[0]
        if not key.can_sign:
            raise UsageError(
                "the current key is a public key and cannot sign",
                advice="load the private key to sign; public keys only verify",
            )
        issued = int(time.time() if now is None else now)
        payload = dict(claims)
        payload.setdefault("iat", issued)
        payload.setdefault("exp", issued + (self.ttl if ttl is None else _seconds(ttl)))
        if self.issuer is not None:
            payload.setdefault("iss", self.issuer)
        if self.audience is not None:
            payload.setdefault("aud", self.audience)
        hdrs = dict(headers or {})
        hdrs["kid"] = key.kid
        return self._jwt.encode(payload, key.sign_key, algorithm=self.algorithm, headers=hdrs)

    # --- verification --------------------------------------------------------------------------

    def verify(
        self,
        token: str | bytes,
        audience: str | Sequence[str] | None = None,
        issuer: str | None = None,
        leeway: int | timedelta | None = None,
        *,
        require: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Verify ``token`` and return its claims, or raise :class:`TokenRejected`."""
        if isinstance(token, bytes):
            try:
                token = token.decode("ascii")
            except UnicodeDecodeError:
                raise _rejected("malformed", "token is not ASCII") from None
        if len(token) > MAX_TOKEN_BYTES:
            raise _rejected(
                "malformed", f"token is {len(token)} bytes; tokens over 64 KiB are refused"
            )
        header = _peek_header(token)
        alg = header.get("alg")
        if alg != self.algorithm:
            raise _rejected(
                "algorithm",
                f"alg {_safe(alg)} is not allowed; this keyring accepts {self.algorithm} only",
                advice=_ALG_ADVICE.get(str(alg), "sign with the algorithm the verifier expects"),
            )
        kid = header.get("kid")
        candidates: Sequence[_Key]
        if "kid" not in header:
            candidates = self._keys
        else:
            if not isinstance(kid, str) or len(kid) > MAX_KID_LENGTH or not _KID_OK(kid):
                raise _rejected(
                    "malformed", f"kid {_safe(kid)} is not a plausible key id (too long, not a "
                    "string, or has path or control characters)"
                )
            key = self._by_kid.get(kid)
            if key is None:
                raise _rejected(
                    "unknown_kid",
                    f"signed with kid {_safe(short(kid))}; this keyring holds "
                    f"{', '.join(short(k) for k in self.kids)}",
                    advice="the signer uses a key this service does not have: compare "
                    "`keydrift fingerprint` on both, or run `keydrift explain` on the token",
                )
            candidates = (key,)
        aud = self.audience if audience is None else audience
        iss = self.issuer if issuer is None else issuer
        lw = self.leeway if leeway is None else _seconds(leeway)
        options: dict[str, Any] = {"require": list(self.require if require is None else require)}
        if aud is None:
            options["verify_aud"] = False
        for key in candidates:
            try:
                return self._jwt.decode(
                    token, key.verify_key, algorithms=self._algorithms, audience=aud,
                    issuer=iss, leeway=lw, options=options,  # type: ignore[arg-type]
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise _translate(exc, token, aud, iss, lw) from None
        detail = (
            f"signature does not match kid {short(candidates[0].kid)}"
            if isinstance(kid, str)
            else f"no key of this keyring ({', '.join(short(k) for k in self.kids)}) verifies it"
        )
        raise _rejected(
            "signature", detail,
            advice="the signer and this service hold different secrets: compare "
            "`keydrift fingerprint` on both, or run `keydrift explain` on the token",
        ) from None


_HASH_OF = {
    "HS256": HMACAlgorithm.SHA256,
    "HS384": HMACAlgorithm.SHA384,
    "HS512": HMACAlgorithm.SHA512,
}

_ALG_ADVICE = {
    "none": "unsigned tokens (alg none) are an attack or a misconfigured signer; never accept them",
    "HS256": "an HMAC token sent to a key-pair verifier may be an algorithm-confusion attack",
}


def _KID_OK(kid: str) -> bool:
    # Key ids name keys; they must never be usable as paths, URLs or log injection.
    return kid.isprintable() and not any(c in kid for c in "/\\") and ".." not in kid


def _safe(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "...'"


def _seconds(value: int | float | timedelta) -> int:
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)


def _rejected(reason: str, detail: str, advice: str | None = None) -> TokenRejected:
    return TokenRejected(reason, detail, advice=advice or TokenRejected.ADVICE.get(reason))


def _b64json(segment: str) -> Any:
    pad = "=" * (-len(segment) % 4)
    try:
        raw = base64.urlsafe_b64decode(segment + pad)
    except (binascii.Error, ValueError):
        raise _rejected("malformed", "header is not valid base64url") from None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise _rejected("malformed", "header is not JSON") from None


def _peek_header(token: str) -> dict[str, Any]:
    """The header, read before verification only to pick the key and check ``alg``.

    PyJWT parses it again (and validates it) during ``decode``; this read must stay cheap.
    """
    dots = token.count(".")
    if dots != 2:
        what = "a JWE (5 segments), not a signed JWS" if dots == 4 else f"{dots + 1} segments"
        raise _rejected("malformed", f"expected 3 dot-separated segments, got {what}")
    segment = token[: token.index(".")]
    if len(segment) <= _CACHED_HEADER_MAX:
        return _parse_header(segment)
    return _parse_header.__wrapped__(segment)


# Tokens from one signer share one header segment ({"alg","kid","typ"}), so parsing it once per
# distinct segment saves most of the pre-read. Bounded: 512 entries of at most 1 KiB each.
_CACHED_HEADER_MAX = 1024


@functools.lru_cache(maxsize=512)
def _parse_header(segment: str) -> dict[str, Any]:
    # Callers only read the returned dict; it is shared between calls and never handed out.
    header = _b64json(segment)
    if not isinstance(header, dict):
        raise _rejected("malformed", "header is not a JSON object")
    return header


def _claims_unverified(token: str) -> dict[str, Any]:
    try:
        payload = _b64json(token.split(".")[1])
    except TokenRejected:
        return {}
    return payload if isinstance(payload, dict) else {}


def _translate(
    exc: Exception, token: str, aud: Any, iss: str | None, leeway: int
) -> TokenRejected:
    claims = _claims_unverified(token)
    now = time.time()
    if isinstance(exc, jwt.ExpiredSignatureError):
        exp = claims.get("exp")
        when = f"expired {duration(now - float(exp))} ago" if isinstance(exp, int | float) else "expired"
        return _rejected("expired", when + (f" (leeway {leeway}s)" if leeway else ""))
    if isinstance(exc, jwt.ImmatureSignatureError):
        nbf, iat = claims.get("nbf"), claims.get("iat")
        if isinstance(nbf, int | float) and nbf > now:
            return _rejected("not_yet_valid", f"not valid for another {duration(float(nbf) - now)}")
        if isinstance(iat, int | float) and iat > now:
            return _rejected(
                "not_yet_valid", f"issued {duration(float(iat) - now)} in the future: clock skew?"
            )
        return _rejected("not_yet_valid", "not valid yet")
    if isinstance(exc, jwt.InvalidIssuedAtError):
        return _rejected("malformed", "iat is not a number")
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return _rejected("missing_claim", f"token has no {exc.claim!r} claim")
    if isinstance(exc, jwt.InvalidAudienceError):
        expected = [aud] if isinstance(aud, str) else list(aud or [])
        return _rejected("audience", f"aud {_safe(claims.get('aud'))} not in {_safe(expected, 80)}")
    if isinstance(exc, jwt.InvalidIssuerError):
        return _rejected("issuer", f"iss {_safe(claims.get('iss'))} is not {_safe(iss)}")
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return _rejected("algorithm", str(exc))
    if isinstance(exc, jwt.InvalidKeyError):
        return _rejected("algorithm", "the token's algorithm does not fit this key")
    if isinstance(exc, jwt.DecodeError | jwt.InvalidTokenError):
        # PyJWT's messages describe structure ("Invalid crit header", "Invalid payload padding")
        # and never echo token content.
        return _rejected("malformed", str(exc) or type(exc).__name__)
    return _rejected("malformed", type(exc).__name__)
