"""The middleware behind `uvicorn --root-path /api`, and CORS preflights (issue 12, item 15).

uvicorn puts the root path in front of every request path (`/login` arrives as path
`/api/login`, root_path `/api`); exclusions are written for the app and must still match.
Browsers send CORS preflights without credentials; they must reach the app's CORS handling.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import httpx
import pytest
import websockets
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from keydrift.asgi import JWTAuthMiddleware
from keydrift.keyring import Keyring
from tests.runtime.runtime_helpers import running

pytestmark = pytest.mark.integration

ORIGIN = "https://app.example"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "authorization"}


@pytest.mark.timeout(90)
def test_root_path_keeps_exclusions_and_fingerprint_path(fleet: Any) -> None:
    secret = secrets.token_urlsafe(48)
    # Before the fix, /healthz answered 401 here and the fleet never saw the replica ready.
    replica = fleet.start("rp", {"JWT_SECRET": secret}, args=("--root-path", "/api"))
    url = replica.url
    assert httpx.get(url + "/healthz", timeout=5).status_code == 200
    login = httpx.post(url + "/login", json={"username": "ann"}, timeout=5)
    assert login.status_code == 200
    token = login.json()["access_token"]
    assert httpx.get(url + "/me", timeout=5).status_code == 401
    me = httpx.get(url + "/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert me.status_code == 200 and me.json()["sub"] == "ann"
    doc = httpx.get(url + "/.well-known/keydrift", timeout=5).json()
    assert doc["signing_kid"] == Keyring.from_secrets(secret).current_kid

    async def chat() -> dict[str, Any]:
        async with websockets.connect(replica.ws_url + "/ws/chat", subprotocols=["bearer", token],
                                      open_timeout=10) as ws:
            return dict(json.loads(await asyncio.wait_for(ws.recv(), 10)))

    assert asyncio.run(chat())["sub"] == "ann"


@pytest.mark.timeout(90)
def test_cors_preflight_passes_through_by_default(fleet: Any) -> None:
    replica = fleet.start("cors", {"JWT_SECRET": secrets.token_urlsafe(48),
                                   "CHAT_CORS_ORIGINS": ORIGIN}, args=("--root-path", "/api"))
    pre = httpx.options(replica.url + "/me", headers=PREFLIGHT, timeout=5)
    assert pre.status_code == 200, pre.text
    assert pre.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in pre.headers["access-control-allow-headers"].lower()
    # Only a preflight passes: an OPTIONS without the CORS headers is authenticated as usual,
    # and so is the actual request that follows the preflight.
    assert httpx.options(replica.url + "/me", timeout=5).status_code == 401
    assert httpx.get(replica.url + "/me", headers={"Origin": ORIGIN}, timeout=5).status_code == 401


def test_cors_preflight_authenticated_when_disabled() -> None:
    api = FastAPI()
    api.add_middleware(CORSMiddleware, allow_origins=[ORIGIN], allow_headers=["authorization"])

    @api.get("/me")
    def me() -> dict[str, str]:
        return {"ok": "yes"}

    ring = Keyring.from_secrets(secrets.token_urlsafe(48))
    strict = JWTAuthMiddleware(api, keyring=ring, allow_preflight=False)
    default = JWTAuthMiddleware(api, keyring=ring)
    with running(strict, root_path="/api") as url:
        assert httpx.options(url + "/me", headers=PREFLIGHT, timeout=5).status_code == 401
    with running(default, root_path="/api") as url:
        assert httpx.options(url + "/me", headers=PREFLIGHT, timeout=5).status_code == 200
