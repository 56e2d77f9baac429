"""JWTAuthMiddleware: HTTP through httpx's ASGI transport, WebSocket through a real uvicorn."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
from typing import Annotated, Any

import httpx
import pytest
import websockets
from fastapi import Depends, FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse

from keydrift.asgi import JWTAuthMiddleware, claims_dependency, instance_id
from keydrift.errors import TokenRejected
from keydrift.keyring import Keyring
from keydrift.runtime.asgi import _TokenCache, source_of
from keydrift.secret import Provenance, ProvenanceKind, ResolvedSecret, SecretValue
from tests.runtime.runtime_helpers import SECRET_A, SECRET_B, running, validate


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reports what the middleware left in the scope."""
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    state = scope.get("state") or {}
    info = {
        "claims": state.get("keydrift_claims"),
        "subject": state.get("keydrift_subject"),
        "subprotocols": scope.get("subprotocols"),
        "protocol_header": [v.decode() for n, v in scope["headers"]
                            if n == b"sec-websocket-protocol"],
    }
    if scope["type"] == "http":
        body = json.dumps(info).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": json.dumps(info)})
    await send({"type": "websocket.close", "code": 1000})


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --- HTTP ---------------------------------------------------------------------------------------


def test_valid_bearer_puts_claims_in_state(keyring_a: Keyring) -> None:
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a)
    token = keyring_a.sign({"sub": "ann", "role": "x"})

    async def go(app: Any) -> httpx.Response:
        async with client(app) as c:
            return await c.get("/me", headers={"Authorization": f"Bearer {token}"})

    resp = run(go(app))
    assert resp.status_code == 200
    body = resp.json()
    assert body["claims"]["sub"] == "ann" and body["claims"]["role"] == "x"
    assert body["subject"] == "ann"
    assert "x-keydrift-instance" not in resp.headers  # only when configured
    named = run(go(JWTAuthMiddleware(echo_app, keyring=keyring_a, instance_header=True)))
    assert named.headers["x-keydrift-instance"] == instance_id()


def test_missing_token_gets_bare_challenge(keyring_a: Keyring) -> None:
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a)

    async def go() -> httpx.Response:
        async with client(app) as c:
            return await c.get("/me")

    resp = run(go())
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == 'Bearer realm="keydrift"'
    assert resp.json()["reason"] == "missing_token"


def test_wrong_key_gets_rfc6750_error_and_no_key_material(keyring_a: Keyring,
                                                          keyring_b: Keyring) -> None:
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a)
    # A token from another keyring carries its own kid: the verifier names it unknown.
    token = keyring_b.sign({"sub": "ann"})

    async def go(tok: str) -> httpx.Response:
        async with client(app) as c:
            return await c.get("/me", headers={"Authorization": f"bearer {tok}"})

    resp = run(go(token))
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="unknown_kid"')
    body = resp.text
    assert resp.json()["reason"] == "unknown_kid"
    for secret in (SECRET_A, SECRET_B):
        assert secret not in body and secret[:16] not in body
    assert keyring_a.current_kid not in body  # only the short display form

    forged = token.rsplit(".", 1)[0] + ".AAAA"
    resp = run(go(forged))
    assert resp.json()["reason"] in ("unknown_kid", "signature")


def test_signature_and_expired_reasons(keyring_a: Keyring) -> None:
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a)
    good = keyring_a.sign({"sub": "ann"})
    head, payload, _sig = good.split(".")
    tampered = f"{head}.{payload}.{'A' * 43}"
    expired = keyring_a.sign({"sub": "ann"}, now=time.time() - 3600, ttl=60)

    async def go() -> list[httpx.Response]:
        async with client(app) as c:
            return [await c.get("/x", headers={"Authorization": f"Bearer {t}"})
                    for t in (tampered, expired, "not-a-jwt")]

    reasons = [r.json()["reason"] for r in run(go())]
    assert reasons == ["signature", "expired", "malformed"]


def test_cookie_and_exclusions(keyring_a: Keyring) -> None:
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a, cookie="session",
                            exclude=("/login", "/static/*"))
    token = keyring_a.sign({"sub": "bob"})

    async def go() -> list[httpx.Response]:
        async with client(app) as c:
            return [
                await c.get("/me", headers={"Cookie": f"other=1; session={token}"}),
                await c.get("/login"),
                await c.get("/static/app.js"),
                await c.get("/loginx"),
            ]

    cookie, login, static, other = run(go())
    assert cookie.status_code == 200 and cookie.json()["subject"] == "bob"
    assert login.status_code == 200 and login.json()["claims"] is None
    assert static.status_code == 200
    assert other.status_code == 401


def test_verified_tokens_are_cached_until_exp() -> None:
    cache = _TokenCache(2)
    cache.put("t1", {"sub": "a", "exp": time.time() + 60})
    cache.put("t2", {"sub": "b", "exp": time.time() - 1})
    cache.put("t3", {"sub": "c"})  # no exp: never cached
    hit = cache.get("t1")
    assert hit == {"sub": "a", "exp": pytest.approx(time.time() + 60, abs=5)}
    assert cache.get("t2") is None and cache.get("t3") is None
    cache.put("t4", {"exp": time.time() + 60, "nbf": time.time() + 30})
    assert cache.get("t4") is None  # not valid yet
    for i in range(5):
        cache.put(f"x{i}", {"exp": time.time() + 60})
    assert len(cache._data) == 2


def test_cached_claims_are_copies(keyring_a: Keyring) -> None:
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a)
    token = keyring_a.sign({"sub": "ann"})
    first = app._verify(keyring_a, token)
    first["sub"] = "mallory"
    assert app._verify(keyring_a, token)["sub"] == "ann"


def test_request_holding_the_replaced_keyring_cannot_fill_the_new_cache(keyring_a: Keyring) -> None:
    """set_keyring() from another thread (a rotation endpoint run in a threadpool) while a
    request that already read the previous keyring is verifying: that request's result must not
    land in the new keyring's cache, where a token of a dropped key would stay accepted."""
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a)
    token = keyring_a.sign({"sub": "ann"})
    held = app.keyring  # the request read the keyring ...
    app.set_keyring(keyring_a.rotate(SECRET_B, keep=0))  # ... then the rotation swapped it
    assert app._verify(held, token)["sub"] == "ann"  # verified by the keyring it holds
    assert app._cache.get(token) is None  # not remembered for the new keyring
    with pytest.raises(TokenRejected):
        app._verify(app.keyring, token)


# --- fingerprint endpoint ------------------------------------------------------------------------


DETAIL = "operator-only-" + "d" * 40


def test_fingerprint_document(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"ENVIRONMENT": "staging", "JWT_SECRET_STAGING": SECRET_A,
           "JWT_SECRET_PREVIOUS": SECRET_B}
    app = JWTAuthMiddleware(echo_app, env=env, service_name="chat", detail_token=DETAIL)

    async def go(headers: dict[str, str]) -> httpx.Response:
        async with client(app) as c:
            return await c.get("/.well-known/keydrift", headers=headers)

    resp = run(go({}))
    assert resp.status_code == 200
    doc = validate(resp.json(), "fingerprint-endpoint-v2.json")
    ring = Keyring.from_secrets(SECRET_A, [SECRET_B])
    assert doc["schema_version"] == 2
    assert doc["algorithm"] == "HS256"
    assert doc["signing_kid"] == ring.current_kid
    assert doc["verification_kids"] == list(ring.kids)
    assert doc["instance_id"] == instance_id() and str(os.getpid()) not in doc["instance_id"]
    assert "detail" not in doc
    assert resp.headers["cache-control"] == "no-store"
    # The detail token unlocks where the key comes from; a wrong one changes nothing.
    assert "detail" not in run(go({"x-keydrift-detail-token": DETAIL[:-1] + "x"})).json()
    full = run(go({"x-keydrift-detail-token": DETAIL}))
    detail = validate(full.json(), "fingerprint-endpoint-v2.json")["detail"]
    assert detail["service"] == "chat" and detail["environment"] == "staging"
    assert detail["key_source"] == {"kind": "env", "variable": "JWT_SECRET_STAGING"}
    assert detail["pid"] == os.getpid() and detail["hostname"] == socket.gethostname()
    assert detail["keydrift"]
    for text in (resp.text, full.text):
        assert SECRET_A not in text and SECRET_B not in text and DETAIL not in text


def test_fingerprint_reports_token_verdict_and_can_require_auth(keyring_a: Keyring,
                                                               keyring_b: Keyring) -> None:
    open_app = JWTAuthMiddleware(echo_app, keyring=keyring_a)
    closed = JWTAuthMiddleware(echo_app, keyring=keyring_a, fingerprint_auth=True)
    moved = JWTAuthMiddleware(echo_app, keyring=keyring_a, fingerprint_path="/_kd")
    off = JWTAuthMiddleware(echo_app, keyring=keyring_a, fingerprint_path=None)
    good, bad = keyring_a.sign({"sub": "a"}), keyring_b.sign({"sub": "a"})

    async def get(app: Any, path: str, tok: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        async with client(app) as c:
            return await c.get(path, headers=headers)

    wk = "/.well-known/keydrift"
    assert run(get(open_app, wk, good)).json()["token"] == {"accepted": True}
    verdict = validate(run(get(open_app, wk, bad)).json(), "fingerprint-endpoint-v2.json")["token"]
    assert verdict["accepted"] is False and verdict["reason"] == "unknown_kid"
    denied = run(get(closed, wk))
    assert denied.status_code == 401 and "x-keydrift-instance" not in denied.headers
    assert run(get(closed, wk, good)).status_code == 200
    assert run(get(moved, "/_kd")).json()["signing_kid"] == keyring_a.current_kid
    # Disabled: the path is an ordinary protected path of the app.
    assert run(get(off, wk)).status_code == 401
    assert "x-keydrift-instance" not in run(get(off, "/x", good)).headers

    async def post() -> httpx.Response:
        async with client(open_app) as c:
            return await c.post(wk)

    assert run(post()).status_code == 405


def test_key_source_kinds(tmp_path: Any) -> None:
    def ring(prov: Provenance) -> Keyring:
        return Keyring(ResolvedSecret(SecretValue(SECRET_A), prov))

    assert source_of(ring(Provenance(ProvenanceKind.ENV, variable="JWT_SECRET"))) == {
        "kind": "env", "variable": "JWT_SECRET"}
    assert source_of(ring(Provenance(ProvenanceKind.FILE, variable="JWT_SECRET", path="/run/s"))) == {
        "kind": "file", "variable": "JWT_SECRET"}
    assert source_of(ring(Provenance(ProvenanceKind.DOTENV, variable="JWT_SECRET", path=".env", line=3))) == {
        "kind": "dotenv", "variable": "JWT_SECRET"}
    assert source_of(ring(Provenance(ProvenanceKind.GENERATED, path="/var/lib/x")))["kind"] == "generated"
    assert source_of(Keyring.from_secrets(SECRET_A))["kind"] == "literal"


# --- start-up --------------------------------------------------------------------------------------


async def lifespan(app: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    await app({"type": "lifespan", "state": {}}, receive, send)
    return sent


def test_startup_fails_without_secret() -> None:
    called = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        called.append(scope["type"])

    app = JWTAuthMiddleware(inner, env={})
    sent = run(lifespan(app))
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "no jwt secret found" in sent[0]["message"]
    assert called == []  # the app never starts half-configured


def test_startup_refuses_placeholder_in_production_like_env() -> None:
    env = {"ENVIRONMENT": "staging", "JWT_SECRET": "your-super-secret-jwt-key-change-me-please"}
    sent = run(lifespan(JWTAuthMiddleware(echo_app, env=env)))
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "refusing" in sent[0]["message"]
    assert "your-super-secret" not in sent[0]["message"]


def test_weak_key_accepted_in_development_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    placeholder = "your-super-secret-jwt-key-change-me-please"
    env = {"ENVIRONMENT": "development", "JWT_SECRET": placeholder}
    app = JWTAuthMiddleware(echo_app, env=env)
    caplog.set_level(logging.WARNING, logger="keydrift")
    assert run(lifespan(app))[0]["type"] == "lifespan.startup.complete"
    assert "detail" not in validate(app.describe(), "fingerprint-endpoint-v2.json")
    doc = validate(app.describe(detail=True), "fingerprint-endpoint-v2.json")["detail"]
    assert doc["key_warnings"] and "placeholder" in " ".join(doc["key_warnings"])
    assert placeholder not in json.dumps(doc)
    weak = [r for r in caplog.records if r.getMessage().startswith("weak jwt secret")]
    assert len(weak) == 1  # logged once, not once per resolution


def test_startup_resolves_keyring() -> None:
    app = JWTAuthMiddleware(echo_app, env={"JWT_SECRET": SECRET_A})
    sent = run(lifespan(app))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete",
                                         "lifespan.shutdown.complete"]
    assert app.keyring.current_kid == Keyring.from_secrets(SECRET_A).current_kid


def test_without_lifespan_a_missing_secret_is_503() -> None:
    app = JWTAuthMiddleware(echo_app, env={})

    async def go() -> httpx.Response:
        async with client(app) as c:
            return await c.get("/me")

    resp = run(go())
    assert resp.status_code == 503


def test_uvicorn_exits_nonzero_with_the_message(tmp_path: Any) -> None:
    (tmp_path / "svc.py").write_text(
        "from keydrift.asgi import JWTAuthMiddleware\n"
        "async def inner(scope, receive, send):\n    pass\n"
        "app = JWTAuthMiddleware(inner)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "uvicorn", "svc:app", "--host", "127.0.0.1", "--port", "0"],
        env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "no jwt secret found" in proc.stderr


def test_asgi_module_imports_no_starlette() -> None:
    code = ("import sys, keydrift.asgi; "
            "assert not any(m.startswith(('starlette', 'fastapi', 'httpx', 'websockets')) "
            "for m in sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


# --- WebSocket (real server: the 403 before upgrade is the server's doing) --------------------------


def ws(url: str, path: str = "/ws") -> str:
    return url.replace("http://", "ws://") + path


async def ws_info(url: str, **kwargs: Any) -> tuple[str | None, dict[str, Any]]:
    async with websockets.connect(url, open_timeout=5, **kwargs) as conn:
        return conn.subprotocol, json.loads(await conn.recv())


def test_websocket_subprotocol_bearer(keyring_a: Keyring) -> None:
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a)
    token = keyring_a.sign({"sub": "ann"})
    with running(app) as url:
        proto, info = run(ws_info(ws(url), subprotocols=["chat.v1", "bearer", token]))
    assert proto == "bearer"
    assert info["subject"] == "ann"
    assert token not in info["subprotocols"] and info["subprotocols"] == ["chat.v1", "bearer"]
    assert all(token not in h for h in info["protocol_header"])


def test_websocket_authorization_header(keyring_a: Keyring) -> None:
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a)
    token = keyring_a.sign({"sub": "ann"})
    with running(app) as url:
        proto, info = run(ws_info(ws(url),
                                  additional_headers={"Authorization": f"Bearer {token}"}))
    assert proto is None and info["claims"]["sub"] == "ann"


def test_websocket_query_param_is_opt_in(keyring_a: Keyring) -> None:
    token = keyring_a.sign({"sub": "ann"})
    off = JWTAuthMiddleware(echo_app, keyring=keyring_a)
    on = JWTAuthMiddleware(echo_app, keyring=keyring_a, query_param="access_token")
    with running(off) as url, pytest.raises(websockets.InvalidStatus) as exc:
        run(ws_info(ws(url, f"/ws?access_token={token}")))
    assert exc.value.response.status_code == 403
    with running(on) as url:
        _, info = run(ws_info(ws(url, f"/ws?access_token={token}")))
    assert info["subject"] == "ann"


def test_websocket_rejected_before_upgrade_and_logged(keyring_a: Keyring, keyring_b: Keyring,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    token = keyring_b.sign({"sub": "ann"})
    # By default the refusal is a close before accept: a bare 403 (no uvicorn ERROR line,
    # see test_asgi_ws_logs.py); the reason is in the keydrift log.
    with running(JWTAuthMiddleware(echo_app, keyring=keyring_a)) as url, \
            pytest.raises(websockets.InvalidStatus) as bare:
        run(ws_info(ws(url), subprotocols=["bearer", token]))
    assert bare.value.response.status_code == 403 and not bare.value.response.body
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a, websocket_denial_body=True)
    caplog.set_level(logging.INFO, logger="keydrift")
    with running(app) as url:
        with pytest.raises(websockets.InvalidStatus) as exc:
            run(ws_info(ws(url), subprotocols=["bearer", token]))
        with pytest.raises(websockets.InvalidStatus) as missing:
            run(ws_info(ws(url)))
    resp = exc.value.response
    assert resp.status_code == 403
    assert json.loads(bytes(resp.body))["reason"] == "unknown_kid"
    assert 'error_description="unknown_kid"' in resp.headers["WWW-Authenticate"]
    assert missing.value.response.status_code == 403
    logged = [r.getMessage() for r in caplog.records if r.name == "keydrift"]
    assert any("refused WebSocket handshake /ws: unknown_kid" in m for m in logged)
    assert any("missing_token" in m for m in logged)
    assert all(token not in m and SECRET_A not in m and SECRET_B not in m for m in logged)


def test_websocket_denial_without_extension_closes_before_accept(keyring_a: Keyring) -> None:
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    scope = {"type": "websocket", "path": "/ws", "headers": [], "subprotocols": [],
             "query_string": b""}
    run(app(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]


# --- FastAPI dependency ------------------------------------------------------------------------


# Module level: FastAPI resolves the (string) annotations in the module's globals.
Required = Annotated[dict[str, Any], Depends(claims_dependency())]
Optional = Annotated[dict[str, Any] | None, Depends(claims_dependency(required=False))]


def test_fastapi_dependency(keyring_a: Keyring) -> None:
    api = FastAPI()

    @api.get("/me")
    def me(claims: Required) -> dict[str, Any]:
        return {"sub": claims["sub"]}

    @api.get("/public")
    def public(claims: Optional) -> dict[str, Any]:
        return {"claims": claims}

    @api.get("/public-strict")
    def strict(claims: Required) -> dict[str, Any]:
        return {"claims": claims}

    app = JWTAuthMiddleware(api, keyring=keyring_a, exclude=("/public", "/public-strict"))
    token = keyring_a.sign({"sub": "ann"})

    async def go() -> list[httpx.Response]:
        async with client(app) as c:
            return [await c.get("/me", headers={"Authorization": f"Bearer {token}"}),
                    await c.get("/public"), await c.get("/public-strict")]

    me_resp, pub, strict_resp = run(go())
    assert me_resp.json() == {"sub": "ann"}
    assert pub.json() == {"claims": None}
    assert strict_resp.status_code == 401


def test_websocket_bare_denial_and_add_middleware_keyring(keyring_a: Keyring) -> None:
    api = FastAPI()

    @api.post("/login")
    def login(request: Request) -> JSONResponse:
        # Added with add_middleware, the middleware is out of reach: the keyring is in state.
        return JSONResponse({"token": request.state.keydrift_keyring.sign({"sub": "ann"})})

    api.add_middleware(JWTAuthMiddleware, keyring=keyring_a, exclude=("/login",),
                       websocket_denial_body=False)
    with running(api) as url:
        token = httpx.post(url + "/login").json()["token"]
        assert keyring_a.verify(token)["sub"] == "ann"
        with pytest.raises(websockets.InvalidStatus) as exc:
            run(ws_info(ws(url, "/nowhere")))
    assert exc.value.response.status_code == 403
    assert not exc.value.response.body
