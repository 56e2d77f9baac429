"""Items 10 and 14: time claims are RFC 7519 NumericDates everywhere, and never crash anything.

- ``Keyring.verify`` raised ``OverflowError`` for ``exp=-10**400`` and ``nbf``/``iat=10**400``;
  ``exp=10**400`` verified and then crashed the middleware's cache (a 500).
- A string ``exp`` (``"9999999999"``) verified in the keyring and the middleware (PyJWT converts
  it) while ``explain`` said every verifier rejects it.

Decided: one rule, :func:`keydrift.keyring.numeric_date`, used by the keyring (so the middleware)
and by ``explain``: a time claim is a JSON number (not a string, not a boolean), finite, within
the range of an IEEE double (how JavaScript, Go and most JOSE libraries read JSON numbers). Any
other value is a ``malformed`` rejection. A far-future ``exp`` that is a valid double (``1e300``)
is accepted: the signer chose it, and the middleware caches it without trouble.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from keydrift.asgi import JWTAuthMiddleware
from keydrift.errors import TokenRejected
from keydrift.explain.claims import Expectations, check_claims
from keydrift.keyring import Keyring
from tests.runtime.runtime_helpers import SECRET_A, running

SOON = int(time.time()) + 600

BAD: dict[str, dict[str, Any]] = {
    "exp-minus-huge": {"exp": -(10**400)},
    "exp-huge": {"exp": 10**400},
    "nbf-huge": {"exp": SOON, "nbf": 10**400},
    "iat-huge": {"exp": SOON, "iat": 10**400},
    "exp-string": {"exp": "9999999999"},
    "exp-numeric-string-past": {"exp": "1"},
    "nbf-string": {"exp": SOON, "nbf": "0"},
    "iat-string": {"exp": SOON, "iat": "0"},
    "exp-bool": {"exp": True},
    "exp-infinity": {"exp": float("inf")},
    "exp-nan": {"exp": float("nan")},
}


@pytest.fixture(scope="module")
def keyring() -> Keyring:
    return Keyring.from_secrets(SECRET_A)


@pytest.mark.parametrize("case", list(BAD))
def test_security_time_claim_not_a_numeric_date_is_rejected_cleanly(keyring: Keyring,
                                                                    case: str) -> None:
    token = keyring.sign(BAD[case])
    with pytest.raises(TokenRejected) as info:
        keyring.verify(token)
    assert info.value.reason == "malformed"
    assert "NumericDate" in info.value.detail


@pytest.mark.parametrize("case", list(BAD))
def test_explain_judges_time_claims_like_the_keyring(case: str) -> None:
    claims = {k: v for k, v in BAD[case].items()}
    _times, findings = check_claims(claims, Expectations(), time.time())
    assert any(f.code.endswith("_invalid") and f.reason == "malformed" for f in findings), findings


def test_far_future_exp_that_is_a_double_is_accepted(keyring: Keyring) -> None:
    claims = keyring.verify(keyring.sign({"exp": 1e300}))
    assert claims["exp"] == 1e300
    _times, findings = check_claims({"exp": 1e300}, Expectations(), time.time())
    assert not [f for f in findings if f.severity == "error"]


def _inner_ok(scope: dict[str, Any], receive: Any, send: Any) -> Any:
    async def app() -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app()


def test_security_middleware_answers_401_not_500_for_hostile_time_claims(keyring: Keyring) -> None:
    app = JWTAuthMiddleware(_inner_ok, keyring=keyring)

    async def go(url: str) -> dict[str, int]:
        statuses: dict[str, int] = {}
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            for case, claims in {**BAD, "far-future-double": {"exp": 1e300}}.items():
                token = keyring.sign(claims)
                # twice: the second request is where a cached verification would be reused
                for _ in range(2):
                    r = await http.get("/me", headers={"authorization": f"Bearer {token}"})
                    statuses[case] = r.status_code
        return statuses

    with running(app) as url:
        statuses = asyncio.run(go(url))
    assert statuses.pop("far-future-double") == 200
    assert statuses == dict.fromkeys(BAD, 401)
