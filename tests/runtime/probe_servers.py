"""Real uvicorn servers for the probe tests: any loopback address, and misbehaving apps.

Every app here stops by itself: streaming apps watch for the client's disconnect and also end
after a fixed time, so a server always shuts down when its test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

WELL_KNOWN = "/.well-known/keydrift"


@contextlib.contextmanager
def serve(app: Any, host: str = "127.0.0.1", port: int = 0, **config: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on ``host``:``port`` in a thread; yield its base URL."""
    cfg = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                         **config)
    server = uvicorn.Server(cfg)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"test server on {host} did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{bound}"
    finally:
        server.should_exit = True
        thread.join(15)
        assert not thread.is_alive(), "test server did not stop"


def common_port(hosts: list[str]) -> int:
    """A port free on every one of ``hosts`` (for servers that must share one port number)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET6 if ":" in hosts[0] else socket.AF_INET) as first:
            first.bind((hosts[0], 0))
            port = int(first.getsockname()[1])
            ok = True
            for host in hosts[1:]:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                with socket.socket(family) as s:
                    try:
                        s.bind((host, port))
                    except OSError:
                        ok = False
                        break
        if ok:
            return port
    raise RuntimeError("no common free port")


def fingerprint_doc(instance_id: str, kid: str = "K" * 43, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": 1, "keydrift": "test", "service": "api", "instance_id": instance_id,
        "environment": None, "algorithm": "HS256", "signing_kid": kid,
        "verification_kids": [kid], "key_source": {"kind": "env", "variable": "JWT_SECRET"},
        "key_warnings": [],
    }
    doc.update(extra)
    return doc


def static_app(body: bytes | Callable[[], bytes], status: int = 200,
               delay: float = 0.0) -> Any:
    """Answers every HTTP request with ``body`` (after ``delay`` seconds)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if delay:
            await asyncio.sleep(delay)
        data = body() if callable(body) else body
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": data})

    return app


def doc_app(doc: dict[str, Any], **kwargs: Any) -> Any:
    return static_app(json.dumps(doc).encode(), **kwargs)


def streaming_app(chunk: bytes, *, interval: float, total: int, stop_after: float = 30.0) -> Any:
    """Sends ``chunk`` every ``interval`` seconds, up to ``total`` bytes, until the client
    leaves (or ``stop_after`` seconds)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        gone = asyncio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone.set()
                    return

        watcher = asyncio.create_task(watch())
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        sent, end = 0, time.monotonic() + stop_after
        try:
            while sent < total and not gone.is_set() and time.monotonic() < end:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
                if interval:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(gone.wait(), interval)
                else:
                    await asyncio.sleep(0)
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b""})
        except OSError:
            pass
        finally:
            watcher.cancel()

    return app


def ws_silent_app(doc: dict[str, Any]) -> Any:
    """Fingerprint document on HTTP; WebSockets accepted and never spoken to (no hello)."""
    body = json.dumps(doc).encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept",
                    "subprotocol": "bearer" if scope.get("subprotocols") else None})
        # Say nothing; wait for the client to leave (at most 30 s).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_until_disconnect(receive), 30)

    return app


async def _until_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "websocket.disconnect":
        pass


def host_pid_doc(kid: str = "K" * 43, sibling_pids: list[int] | None = None,
                 **extra: Any) -> dict[str, Any]:
    """A document in the hostname/pid form, announcing ``sibling_pids``."""
    host = socket.gethostname()
    pids = [os.getpid()] if sibling_pids is None else sibling_pids
    return fingerprint_doc(f"{host}:{os.getpid()}", kid, hostname=host, pid=os.getpid(),
                           sibling_pids=pids, **extra)
