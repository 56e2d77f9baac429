"""A protected app that resolves its keyring from the environment at start-up (lifespan).

Started by tests/security with ``python -m uvicorn`` in a subprocess: a secret it cannot use must
make uvicorn exit non-zero, never serve.
"""

from __future__ import annotations

from typing import Any

from keydrift.asgi import JWTAuthMiddleware


async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


app = JWTAuthMiddleware(inner)
