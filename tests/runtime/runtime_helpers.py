"""Helpers for runtime tests: two secrets, and real uvicorn servers run in a thread."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

SECRET_A = "kD8vQ2mZ7xR4tN9pL3wS6yB1cF5hJ0gU2eV8aK4nM7qT"
SECRET_B = "Zr5Xw9Lp2Nq7Vt4Bm8Kc1Hs6Jd3Fg0Ya5Ue9Io2Pk7Tq"


@contextlib.contextmanager
def running(app: Any, **config: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    cfg = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="auto",
                         **config)
    server = uvicorn.Server(cfg)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive(), "test server did not stop"


def chat_like(keyring: Any, name: str, **options: Any) -> Any:
    """A tiny protected app: GET /me and WebSocket /ws (first message names the instance)."""
    from keydrift.asgi import JWTAuthMiddleware

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                kind = "complete" if msg["type"] == "lifespan.startup" else None
                if kind:
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": '{"instance_id": "%s"}' % name})
        await send({"type": "websocket.close", "code": 1000})

    # The probe's per-instance HTTP verdicts read the x-keydrift-instance header, which is off
    # unless configured.
    options.setdefault("instance_header", True)
    return JWTAuthMiddleware(inner, keyring=keyring, instance_name=name, **options)


async def not_keydrift(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ordinary web server: HTML everywhere."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": b"<html>hello</html>"})


SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schema"


def validate(doc: Any, schema_file: str) -> Any:
    """Check ``doc`` against a published JSON Schema in docs/schema; return it."""
    import jsonschema

    schema = json.loads((SCHEMA_DIR / schema_file).read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    return doc
