"""Issue 11: a refused WebSocket handshake leaves no ERROR in uvicorn's log.

The server runs as a real ``python -m uvicorn`` process on loopback and the assertions read its
real stderr, for each WebSocket implementation uvicorn ships with this environment's packages.
A control app that returns without any handshake message shows the check would see an ERROR.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
import websockets

from tests.runtime.runtime_helpers import SECRET_A, SECRET_B

APP = textwrap.dedent("""
    import os
    from keydrift.asgi import JWTAuthMiddleware
    from keydrift.keyring import Keyring

    async def inner(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
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
        await send({"type": "websocket.close", "code": 1000})

    async def careless(scope, receive, send):
        # The control: returns from a WebSocket scope without any handshake message.
        if scope["type"] == "websocket":
            await receive()
            return
        await inner(scope, receive, send)

    app = JWTAuthMiddleware(inner, keyring=Keyring.from_secrets(os.environ["KD_SECRET"]),
                            exclude=("/healthz",))
    control = careless
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_and_refuse(tmp_path: Path, target: str, ws_impl: str) -> str:
    """Start uvicorn, make three refused handshakes, stop it; return everything it logged."""
    (tmp_path / "wsapp.py").write_text(APP)
    port = _free_port()
    env = {**os.environ, "KD_SECRET": SECRET_A, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"wsapp:{target}", "--app-dir", str(tmp_path),
         "--host", "127.0.0.1", "--port", str(port), "--ws", ws_impl, "--log-level", "info"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start") from None
                time.sleep(0.05)
        from keydrift.keyring import Keyring

        wrong = Keyring.from_secrets(SECRET_B).sign({"sub": "x"})

        async def attempts() -> list[int]:
            statuses = []
            for protocols in (["bearer", wrong], None, ["bearer", "not.a.token"]):
                try:
                    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=5,
                                                  subprotocols=protocols):
                        statuses.append(101)
                except websockets.InvalidStatus as exc:
                    statuses.append(exc.response.status_code)
            return statuses

        statuses = asyncio.run(attempts())
        time.sleep(0.3)  # let the server finish logging the last refusal
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate(timeout=5)
    log = out.decode(errors="replace")
    assert statuses == [403, 403, 403] or target == "control", (statuses, log)
    return log


@pytest.mark.parametrize("ws_impl", ["auto", "websockets-sansio", "websockets"])
def test_refused_websocket_logs_no_error(tmp_path: Path, ws_impl: str) -> None:
    log = _serve_and_refuse(tmp_path, "app", ws_impl)
    assert log.count('"WebSocket /ws" 403') == 3, log
    errors = [line for line in log.splitlines() if line.startswith("ERROR")]
    assert errors == [], log


def test_the_log_check_sees_an_incomplete_handshake(tmp_path: Path) -> None:
    log = _serve_and_refuse(tmp_path, "control", "auto")
    assert any(line.startswith("ERROR") and "handshake" in line for line in log.splitlines())
