"""A canary secret never appears in any output, log record, exception, traceback or repr."""

from __future__ import annotations

import copy
import logging
import pickle
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from keydrift import Keyring, TokenRejected, resolve
from keydrift.cli.main import main
from keydrift.errors import KeydriftError
from keydrift.keys import PreparedHMAC


def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


def test_resolved_secret_hides_value(canary: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    got = resolve(environment="staging", env={"JWT_SECRET_STAGING": canary})
    texts = [repr(got), str(got), repr(got.value), str(got.value), f"{got.value}",
             f"{got.value!r:>10}", "%s" % (got.value,), repr(got.provenance), str(vars(got))]
    for text in texts:
        assert canary not in text
    with pytest.raises(TypeError):
        pickle.dumps(got.value)
    with pytest.raises(TypeError):
        pickle.dumps(got)
    assert copy.deepcopy(got.value) is got.value
    logging.getLogger("keydrift").info("resolved %s %r", got, got.value)
    assert all(canary not in r.getMessage() for r in caplog.records)


def test_errors_never_contain_value(canary: str, tmp_path: Path,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    placeholder = "your-" + canary
    raised: list[BaseException] = []
    with pytest.raises(KeydriftError) as weak:
        resolve(environment="production", env={"JWT_SECRET": placeholder})
    raised.append(weak.value)
    (tmp_path / "f").write_text("other-" + canary)
    with pytest.raises(KeydriftError) as conflict:
        resolve(environment="staging", env={"JWT_SECRET": canary, "JWT_SECRET_FILE": str(tmp_path / "f")})
    raised.append(conflict.value)
    with pytest.raises(KeydriftError) as short:
        Keyring.from_secrets(canary[:20])
    raised.append(short.value)
    resolve(environment="development", env={"JWT_SECRET": placeholder})  # warns via logging
    for exc in raised:
        assert canary[:20] not in _all_text(exc)
    assert all(canary[:20] not in r.getMessage() for r in caplog.records)


def test_keyring_and_rejections_hide_value(canary: str) -> None:
    kr = Keyring.from_secrets(canary)
    other = Keyring.from_secrets("x" + canary)
    texts = [repr(kr), str(kr.keys_info()), repr(kr._keys), repr(PreparedHMAC(canary.encode()))]
    for token in (other.sign({"sub": canary[:5]}), kr.sign({}, ttl=-10), "a.b", "x" * 70000):
        with pytest.raises(TokenRejected) as info:
            kr.verify(token)
        texts.append(_all_text(info.value))
    with pytest.raises(TypeError):
        pickle.dumps(kr)
    for text in texts:
        assert canary not in text


def test_cli_output_hides_value(canary: str, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str],
                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("JWT_SECRET_STAGING", canary)
    outputs = []
    for argv in (["fingerprint"], ["fingerprint", "--format", "json"]):
        assert main(argv) == 0
        outputs.append(capsys.readouterr())
    monkeypatch.setenv("JWT_SECRET_STAGING", "your-" + canary)
    assert main(["fingerprint"]) == 1
    outputs.append(capsys.readouterr())
    for out in outputs:
        assert canary not in out.out and canary not in out.err
    assert all(canary not in r.getMessage() for r in caplog.records)


def test_cli_subprocess_error_paths_hide_value(canary: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("other-" + canary)
    env = {"PATH": "/usr/bin:/bin", "ENVIRONMENT": "production", "JWT_SECRET": canary,
           "JWT_SECRET_FILE": str(tmp_path / "f"), "KEYDRIFT_DEBUG": "1"}
    proc = subprocess.run([sys.executable, "-m", "keydrift", "fingerprint"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "differ" in proc.stderr
    assert canary not in proc.stdout + proc.stderr


def test_metrics_and_fingerprint_endpoint_hide_value_and_weak_list_position(
        canary: str, caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    import httpx
    from prometheus_client import CollectorRegistry, generate_latest

    from keydrift.asgi import JWTAuthMiddleware
    from keydrift.metrics import KeydriftMetrics
    from tests.runtime.test_asgi_middleware import echo_app, lifespan
    from tests.runtime.test_fingerprint_public import weak_listed_secret

    caplog.set_level(logging.DEBUG)
    index, weak = weak_listed_secret()
    detail_token = "detail-" + canary  # a credential is a secret too
    registry = CollectorRegistry()
    # A weak listed secret accepted in development signs; the canary verifies (previous key).
    env = {"ENVIRONMENT": "development", "JWT_SECRET": weak, "JWT_SECRET_PREVIOUS": canary}
    app = JWTAuthMiddleware(echo_app, env=env, metrics=KeydriftMetrics(registry),
                            metrics_path="/metrics", detail_token=detail_token)
    asyncio.run(lifespan(app))
    other = Keyring.from_secrets("x" + canary)

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as c:
            out = [await c.get("/me", headers={"Authorization": f"Bearer {tok}"})
                   for tok in (other.sign({"sub": "a"}), app.keyring.sign({"sub": "b"}), "x.y.z")]
            out.append(await c.get("/metrics"))
            out.append(await c.get("/.well-known/keydrift"))
            out.append(await c.get("/.well-known/keydrift",
                                   headers={"x-keydrift-detail-token": detail_token}))
            return out

    responses = asyncio.run(go())
    assert [r.status_code for r in responses] == [401, 200, 401, 200, 200, 200]
    metrics_text, public = responses[3].text, responses[4].text
    assert "keydrift_secret_weak" in metrics_text and 'kid="' in metrics_text
    exposition = generate_latest(registry).decode()
    for text in (metrics_text, exposition, public):
        assert canary not in text and weak not in text
        assert f"entry {index}" not in text and "jwt-secrets" not in text
        assert "warning" not in text.lower()
    for resp in responses:
        assert canary not in resp.text and weak not in resp.text and detail_token not in resp.text
        assert canary not in str(resp.headers)
    assert all(canary not in r.getMessage() and weak not in r.getMessage() for r in caplog.records)
