"""Token and candidate builders shared by the explain tests (real signing, no mocks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from keydrift.explain import Candidate, Expectations, Explanation, explain
from keydrift.secret import SecretValue

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z; every test judges times against this instant
STRONG = "Xq7vR2mN9pL4sT8wK1yZ3bF6cH0gJ5dA"  # 32 random characters, not on any weak list
OTHER = "Pz4kW8nB2xQ6rV1mT9yL3cG7hJ0fD5sE"

_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(
    key: str | bytes | None,
    claims: dict[str, Any] | None = None,
    *,
    alg: str = "HS256",
    headers: dict[str, Any] | None = None,
    defaults: bool = True,
) -> str:
    """A compact JWS signed with ``key`` exactly as given (PyJWT refuses PEM keys for HMAC,
    which the key-confusion tests need, so the HMAC is computed here)."""
    body: dict[str, Any] = {"sub": "alice", "iat": NOW - 60, "exp": NOW + 600} if defaults else {}
    body.update(claims or {})
    header = {"alg": alg, "typ": "JWT", **(headers or {})}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(body).encode())}"
    if alg.lower() == "none" or key is None:
        return signing_input + "."
    raw = key.encode() if isinstance(key, str) else key
    sig = hmac.new(raw, signing_input.encode("ascii"), _HASHES[alg]).digest()
    return f"{signing_input}.{b64url(sig)}"


def cand(
    value: str | bytes,
    variable: str | None = "JWT_SECRET",
    *,
    role: str = "expected",
    origin: str = "repo",
    path: str | None = ".env",
    line: int | None = 3,
    environment: str | None = None,
    service: str | None = None,
    raw: bytes | None = None,
) -> Candidate:
    return Candidate(
        id=f"test:{variable}:{path}:{line}:{environment}",
        origin=origin,
        value=SecretValue(value),
        variable=variable,
        path=path,
        line=line,
        environment=environment,
        service=service,
        role=role,
        raw=SecretValue(raw) if raw is not None else None,
    )


def run(token: str | bytes, *candidates: Candidate, **expect: Any) -> Explanation:
    model = expect.pop("model", None)
    derivations = expect.pop("derivations", None)
    return explain(token, list(candidates), expectations=Expectations(**expect), now=NOW,
                   model=model, derivations=derivations)
