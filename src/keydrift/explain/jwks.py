"""JWKS: judge an RS/ES/PS/EdDSA token against the key sets an identity provider publishes.

Key sets are parsed by PyJWT (:class:`jwt.PyJWKSet`; a URL through :class:`jwt.PyJWKClient`, whose
fetch is bounded here: no redirects, a total deadline and a size cap, because the URL may belong to
anyone). What is reported is what a verifier using that key set would see: the ``kid`` found or
missing, the signature, an algorithm the key does not allow, and, when older key sets are given
alongside, a key that was rotated out. Keys are named by their RFC 7638 thumbprint, as everywhere
in keydrift; key material never appears in a report.
"""

from __future__ import annotations

import json
import math
import os
import stat
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from keydrift.errors import InputError, UsageError
from keydrift.keys import jwk_thumbprint, public_jwk, short

__all__ = [
    "JWKS_ALGORITHMS",
    "MAX_JWKS_BYTES",
    "JwkInfo",
    "JwksReport",
    "JwksSet",
    "check_jwks",
    "load_jwks",
]

MAX_JWKS_BYTES = 1024 * 1024  # a real key set is a few KiB; providers with many keys stay far below
MAX_JWKS_KEYS = 256
JWKS_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                   "ES512", "ES256K", "EdDSA")
# Which key types can verify which algorithm family (RFC 7518 section 3.1, RFC 8037).
_FAMILY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP", "HS": "oct"}


@dataclass(frozen=True)
class JwkInfo:
    """One usable key of a set: public facts only."""

    kid: str | None
    kty: str
    alg: str | None  # the JWK's own "alg" member, when it pins one
    use: str | None
    thumbprint: str
    key: Any = field(repr=False, compare=False)  # jwt.PyJWK

    def to_dict(self) -> dict[str, Any]:
        return {"kid": self.kid, "kty": self.kty, "alg": self.alg, "use": self.use,
                "thumbprint": short(self.thumbprint)}


@dataclass(frozen=True)
class JwksSet:
    """A key set and where it came from (a path or a URL)."""

    label: str
    keys: tuple[JwkInfo, ...]
    skipped: int = 0  # members PyJWT could not use (unknown kty, bad parameters)

    def by_kid(self, kid: str) -> list[JwkInfo]:
        return [k for k in self.keys if k.kid == kid]


@dataclass(frozen=True)
class JwksReport:
    """What a verifier holding ``current`` would say about the token.

    ``status``: ``verified`` | ``signature`` | ``unknown_kid`` | ``algorithm``.
    ``rotated_out``: the older set holding the token's kid when the current one lacks it.
    """

    status: str
    kid: str | None
    detail: str
    current: JwksSet
    older: tuple[JwksSet, ...] = ()
    key: JwkInfo | None = None
    rotated_out: JwksSet | None = None
    rotated_key_verifies: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "kid": self.kid,
            "detail": self.detail,
            "key": self.key.to_dict() if self.key else None,
            "rotated_out_of": self.rotated_out.label if self.rotated_out else None,
            "rotated_key_verifies": self.rotated_key_verifies,
            "sets": [
                {"source": s.label, "role": "current" if i == 0 else "older",
                 "keys": [k.to_dict() for k in s.keys], "skipped": s.skipped}
                for i, s in enumerate((self.current, *self.older))
            ],
        }


def _family_ok(kty: str, alg: str) -> bool:
    return _FAMILY.get(alg[:2]) == kty


def _info(pyjwk: Any) -> JwkInfo | None:
    data = getattr(pyjwk, "_jwk_data", {}) or {}
    kty = str(data.get("kty", ""))
    try:
        if kty == "oct":
            # A symmetric key in a JWKS: its thumbprint is that of the oct JWK, no value shown.
            thumb = jwk_thumbprint({"kty": "oct", "k": data["k"]})
        else:
            thumb = jwk_thumbprint(public_jwk(pyjwk.key))
    except (KeyError, TypeError, ValueError, UsageError):
        return None
    kid = data.get("kid")
    alg = data.get("alg")
    use = data.get("use")
    return JwkInfo(
        kid=kid if isinstance(kid, str) else None,
        kty=kty,
        alg=alg if isinstance(alg, str) else None,
        use=use if isinstance(use, str) else None,
        thumbprint=thumb,
        key=pyjwk,
    )


def _parse(doc: Any, label: str) -> JwksSet:
    import jwt
    from jwt.exceptions import PyJWKSetError, PyJWTError

    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise InputError("not a JWKS: expected a JSON object with a \"keys\" array", where=label,
                         advice="pass the key set document (e.g. .../.well-known/jwks.json)")
    members = doc["keys"]
    if len(members) > MAX_JWKS_KEYS:
        raise InputError(f"the key set has {len(members)} keys; more than {MAX_JWKS_KEYS} are "
                         "refused", where=label)
    try:
        keyset = jwt.PyJWKSet.from_dict(doc)
    except (PyJWKSetError, PyJWTError) as exc:
        raise InputError(f"no usable key in the key set ({exc})", where=label) from None
    infos = tuple(i for i in (_info(k) for k in keyset.keys) if i is not None)
    if not infos:
        raise InputError("no usable key in the key set", where=label)
    return JwksSet(label, infos, skipped=len(members) - len(infos))


def _read_file(path: str) -> bytes:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InputError("not a regular file", where=path)
        with open(path, "rb") as fh:
            data = fh.read(MAX_JWKS_BYTES + 1)
    except FileNotFoundError:
        raise InputError("JWKS file does not exist", where=path) from None
    except OSError as exc:
        raise InputError(f"cannot read JWKS file ({exc.strerror})", where=path) from None
    if len(data) > MAX_JWKS_BYTES:
        raise InputError("JWKS file is larger than 1 MiB", where=path)
    return data


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A key set URL that redirects elsewhere is not followed: the answer must come from the
    # address given (PyJWKClient does the same).
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _bounded_client(url: str, timeout: float, max_bytes: int) -> Any:
    """A :class:`jwt.PyJWKClient` whose fetch has a total deadline and a size cap.

    PyJWKClient's own fetch passes ``timeout`` to each socket operation and reads the whole
    body, so a server dripping one byte at a time, or sending gigabytes, holds it forever. The
    override reads at most ``max_bytes`` in chunks and gives up once ``timeout`` has passed
    overall (at most one more socket wait of ``timeout`` can follow the deadline).
    """
    import jwt

    class Client(jwt.PyJWKClient):
        def fetch_data(self) -> Any:
            deadline = time.monotonic() + timeout
            # load_jwks lets only http(s) URLs through to here.
            request = urllib.request.Request(url, headers={"accept": "application/json"})  # noqa: S310
            opener = urllib.request.build_opener(_NoRedirect())
            chunks: list[bytes] = []
            size = 0
            try:
                with opener.open(request, timeout=timeout) as response:
                    while True:
                        chunk = response.read1(65536)
                        if not chunk:
                            break
                        size += len(chunk)
                        if size > max_bytes:
                            raise InputError(f"the key set is larger than {max_bytes} bytes",
                                             where=url)
                        chunks.append(chunk)
                        if time.monotonic() > deadline:
                            raise InputError(f"no complete key set within {timeout:g}s",
                                             where=url, advice="raise --jwks-timeout, or save "
                                             "the key set to a file and pass that")
            except InputError:
                raise
            except urllib.error.HTTPError as exc:
                exc.close()
                raise InputError(f"fetching the key set answered HTTP {exc.code}",
                                 where=url) from None
            except (OSError, ValueError) as exc:
                reason = getattr(exc, "reason", None) or type(exc).__name__
                raise InputError(f"cannot fetch the key set ({reason})", where=url) from None
            try:
                return json.loads(b"".join(chunks))
            except (ValueError, RecursionError):
                raise InputError("the key set is not JSON", where=url) from None

    return Client(url, cache_keys=False, cache_jwk_set=False, timeout=timeout)


def load_jwks(source: str, *, timeout: float = 5.0, max_bytes: int = MAX_JWKS_BYTES) -> JwksSet:
    """Load a key set from a file path or an ``http(s)://`` URL (see :func:`_bounded_client`)."""
    if not (math.isfinite(timeout) and timeout > 0):
        raise UsageError("the JWKS timeout must be a positive number of seconds")
    if source.startswith(("http://", "https://")):
        if not urlsplit(source).netloc:
            raise UsageError(f"not a URL: {source!r}")
        client = _bounded_client(source, timeout, max_bytes)
        return _parse(client.fetch_data(), source)
    data = _read_file(source)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise InputError("not JSON (a JWKS is a JSON object with a \"keys\" array)",
                         where=source) from None
    return _parse(doc, source)


def _verifies(token: str, info: JwkInfo, alg: str) -> bool:
    import jwt

    try:
        jwt.PyJWS().decode(token, key=info.key.key, algorithms=[alg])
    except Exception:  # any failure means "this key does not verify the token"
        return False
    return True


def check_jwks(
    token: str, alg: str, kid: Any, current: JwksSet, older: Sequence[JwksSet] = ()
) -> JwksReport:
    """What a verifier with ``current`` says about ``token`` (see :class:`JwksReport`)."""
    kid_text = kid if isinstance(kid, str) else None
    if kid_text is not None:
        found = current.by_kid(kid_text)
        if not found:
            for old in older:
                for info in old.by_kid(kid_text):
                    ok = _family_ok(info.kty, alg) and _verifies(token, info, alg)
                    return JwksReport(
                        "unknown_kid", kid_text,
                        f"kid {_clip(kid_text)} is not in {current.label}; it is in the older "
                        f"{old.label} (key {short(info.thumbprint)}): the key was rotated out"
                        + (" and it verifies the signature: the signer still uses the old key"
                           if ok else ""),
                        current, tuple(older), key=info, rotated_out=old,
                        rotated_key_verifies=ok,
                    )
            return JwksReport(
                "unknown_kid", kid_text,
                f"kid {_clip(kid_text)} is not in {current.label} ({_kids(current)})", current,
                tuple(older),
            )
        candidates = found
    else:
        candidates = list(current.keys)
    usable = [k for k in candidates if _family_ok(k.kty, alg) and k.alg in (None, alg)]
    if not usable:
        info = candidates[0]
        why = (f"the key is {info.kty}" if not _family_ok(info.kty, alg)
               else f"the key allows only {info.alg}")
        return JwksReport(
            "algorithm", kid_text,
            f"alg {alg} cannot be verified with {_name(info)} in {current.label}: {why}",
            current, tuple(older), key=info,
        )
    for info in usable:
        if _verifies(token, info, alg):
            return JwksReport("verified", kid_text,
                              f"verified with {_name(info)} from {current.label}", current,
                              tuple(older), key=info)
    info = usable[0]
    if kid_text is not None:
        detail = (f"kid {_clip(kid_text)} is in {current.label} ({_name(info)}), but that key does "
                  "not verify the signature: the signer used another key under the same kid, "
                  "or the token was altered")
    else:
        detail = (f"the token has no kid and none of the {len(usable)} {alg}-capable keys in "
                  f"{current.label} verifies it")
    return JwksReport("signature", kid_text, detail, current, tuple(older), key=info)


def _clip(text: str, limit: int = 64) -> str:
    # A kid comes from the token or the key set: either may be hostile. repr() escapes control
    # and format characters; the clip keeps a 64 KiB kid from filling the report.
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


def _name(info: JwkInfo) -> str:
    kid = f"kid {_clip(info.kid)}, " if info.kid else ""
    return f"{info.kty} key ({kid}thumbprint {short(info.thumbprint)})"


def _kids(keyset: JwksSet) -> str:
    kids = [_clip(k.kid) for k in keyset.keys if k.kid][:6]
    more = len([k for k in keyset.keys if k.kid]) - len(kids)
    return ("its kids: " + ", ".join(kids) + (f" and {more} more" if more > 0 else "")
            if kids else "its keys have no kid")
