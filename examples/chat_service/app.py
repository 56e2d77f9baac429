"""Reference chat service: POST /login, GET /me and WebSocket /ws/chat behind keydrift.

Configured only through keydrift: the secret comes from the resolver (``ENVIRONMENT``,
``JWT_SECRET_<ENV>``, ``JWT_SECRET_KEY``, ``JWT_SECRET``, ``*_FILE``, ``JWT_SECRET_PREVIOUS``) and
every request and handshake is checked by :class:`keydrift.asgi.JWTAuthMiddleware`.

Optional, from the environment: ``CHAT_METRICS=1`` serves Prometheus metrics at ``/metrics``
(docs/monitoring.md; set ``PROMETHEUS_MULTIPROC_DIR`` too with ``--workers``),
``CHAT_INSTANCE_HEADER=1`` adds ``x-keydrift-instance`` to responses, ``CHAT_CORS_ORIGINS`` (comma
separated) answers CORS preflights for those origins, ``KEYDRIFT_DETAIL_TOKEN`` unlocks the
fingerprint endpoint's details.

``CHAT_LEGACY_KEYS=1`` imitates the apps behind the incidents: when no ``JWT_SECRET`` is set, each
process generates its own key (``os.getenv("JWT_SECRET") or secrets.token_urlsafe()``), so every
replica and every worker signs with a different key. Never do this; it is here to be caught.

Run one replica:  ``JWT_SECRET=$(keydrift generate) uvicorn --app-dir examples/chat_service app:app``
Run a fleet:      ``python examples/chat_service/fleet.py --replicas 3``
"""

from __future__ import annotations

import os
import secrets
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel

from keydrift.asgi import JWTAuthMiddleware, claims_dependency, instance_id
from keydrift.metrics import KeydriftMetrics
from keydrift.keyring import Keyring
from keydrift.secret import Provenance, ResolvedSecret, SecretValue

Claims = Annotated[dict[str, Any], Depends(claims_dependency())]


class LoginBody(BaseModel):
    username: str
    password: str = ""


def _legacy_keyring() -> Keyring | None:
    """The anti-pattern: fall back to a per-process random key when the variable is unset."""
    if os.environ.get("JWT_SECRET"):
        return None  # the resolver reads it like any other configuration
    generated = ResolvedSecret(
        value=SecretValue(secrets.token_urlsafe(64)),
        provenance=Provenance("generated", path="process memory (legacy mode)"),
    )
    return Keyring(generated)


def create_app() -> JWTAuthMiddleware:
    """The FastAPI app wrapped in the middleware (with no keyring: resolved at start-up)."""
    api = FastAPI(title="keydrift reference chat service")
    legacy = os.environ.get("CHAT_LEGACY_KEYS") == "1"
    metrics = KeydriftMetrics() if os.environ.get("CHAT_METRICS") == "1" else None
    auth = JWTAuthMiddleware(
        api,
        keyring=_legacy_keyring() if legacy else None,
        exclude=("/login", "/healthz"),
        service_name=os.environ.get("KEYDRIFT_SERVICE", "chat"),
        instance_header=os.environ.get("CHAT_INSTANCE_HEADER") == "1",
        metrics=metrics,
        metrics_path="/metrics" if metrics else None,
    )
    origins = [o for o in os.environ.get("CHAT_CORS_ORIGINS", "").split(",") if o]
    if origins:
        # Inside the keydrift middleware: preflights pass through it (allow_preflight) to here.
        api.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["authorization", "content-type"])

    @api.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "instance_id": instance_id()}

    @api.post("/login")
    def login(body: LoginBody) -> dict[str, str]:
        # A demo: any non-empty user name logs in. The point is who signs, not who may.
        if not body.username:
            raise HTTPException(400, "username required")
        token = auth.keyring.sign({"sub": body.username})
        return {"access_token": token, "token_type": "bearer", "instance_id": instance_id()}

    @api.get("/me")
    def me(claims: Claims) -> dict[str, Any]:
        return {"sub": claims.get("sub"), "instance_id": instance_id()}

    @api.websocket("/ws/chat")
    async def chat(websocket: WebSocket, claims: Claims) -> None:
        await websocket.accept()
        # First message names the worker: behind one port a client cannot choose it, so the
        # probe learns from this which instance accepted the handshake.
        await websocket.send_json(
            {"type": "hello", "instance_id": instance_id(), "sub": claims.get("sub")}
        )
        try:
            while True:
                text = await websocket.receive_text()
                await websocket.send_json({"type": "message", "from": claims.get("sub"),
                                           "text": text})
        except WebSocketDisconnect:
            return

    return auth


app = create_app()
