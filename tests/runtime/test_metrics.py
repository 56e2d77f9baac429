"""keydrift.metrics: what the middleware publishes, counted through real registries."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from keydrift.asgi import JWTAuthMiddleware
from keydrift.errors import TokenRejected
from keydrift.keyring import Keyring
from keydrift.metrics import KeydriftMetrics
from tests.runtime.runtime_helpers import SECRET_A, SECRET_B, running
from tests.runtime.test_asgi_middleware import echo_app, lifespan


def samples(registry: CollectorRegistry, name: str) -> list[tuple[dict[str, str], float]]:
    text = generate_latest(registry).decode()
    return [(s.labels, s.value) for f in text_string_to_metric_families(text)
            for s in f.samples if s.name == name]


def key_info(registry: CollectorRegistry) -> set[tuple[str, str, str, str]]:
    return {(lb["spec"], lb["environment"], lb["kid"], lb["role"])
            for lb, v in samples(registry, "keydrift_key_info") if v == 1}


def test_lifespan_publishes_signing_and_verifying_kids() -> None:
    registry = CollectorRegistry()
    env = {"ENVIRONMENT": "staging", "JWT_SECRET_STAGING": SECRET_A, "JWT_SECRET_PREVIOUS": SECRET_B}
    app = JWTAuthMiddleware(echo_app, env=env, metrics=KeydriftMetrics(registry))
    assert key_info(registry) == set()  # nothing before start-up (a forking parent stays silent)
    asyncio.run(lifespan(app))
    a, b = Keyring.from_secrets(SECRET_A).current_kid, Keyring.from_secrets(SECRET_B).current_kid
    assert key_info(registry) == {("jwt", "staging", a, "signing"), ("jwt", "staging", a, "verifying"),
                                  ("jwt", "staging", b, "verifying")}
    assert samples(registry, "keydrift_secret_weak") == [({"spec": "jwt"}, 0.0)]


def test_rejections_counted_by_reason_only(keyring_a: Keyring, keyring_b: Keyring) -> None:
    registry = CollectorRegistry()
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a, metrics=KeydriftMetrics(registry))

    async def go() -> list[int]:
        codes = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as c:
            for tok in (keyring_b.sign({"sub": "x"}), keyring_a.sign({}, ttl=-10),
                        keyring_a.sign({"sub": "ok"}), "not.a.token", None):
                headers = {"Authorization": f"Bearer {tok}"} if tok else {}
                codes.append((await c.get("/p/" + str(len(codes)), headers=headers)).status_code)
        return codes

    assert asyncio.run(go()) == [401, 401, 200, 401, 401]
    counts = {lb["reason"]: v for lb, v in samples(registry, "keydrift_token_rejections_total")}
    # Every reason of the fixed vocabulary is there from the start (rate() works at once); a
    # missing token is not a TokenRejected reason and is not counted; no path label exists.
    assert set(counts) == TokenRejected.REASONS
    assert counts["unknown_kid"] == 1 and counts["expired"] == 1 and counts["malformed"] == 1
    assert sum(counts.values()) == 3
    with pytest.raises(ValueError, match="unknown rejection reason"):
        KeydriftMetrics(CollectorRegistry()).rejected("missing_token")


def test_set_keyring_replaces_the_published_keys(keyring_a: Keyring) -> None:
    registry = CollectorRegistry()
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a, metrics=KeydriftMetrics(registry),
                            environment="dev")
    asyncio.run(lifespan(app))
    a, b = keyring_a.current_kid, Keyring.from_secrets(SECRET_B).current_kid
    assert {k[2:] for k in key_info(registry)} == {(a, "signing"), (a, "verifying")}
    app.set_keyring(keyring_a.rotate(SECRET_B))
    assert {k[2:] for k in key_info(registry)} == {
        (b, "signing"), (b, "verifying"), (a, "verifying")}
    app.set_keyring(keyring_a.rotate(SECRET_B, keep=0))
    assert {k[2:] for k in key_info(registry)} == {(b, "signing"), (b, "verifying")}
    # Removed, not left at 0, in single-process mode.
    assert all(v == 1 for _, v in samples(registry, "keydrift_key_info"))
    # No weak judgement for a keyring the middleware did not resolve: the series is absent.
    assert samples(registry, "keydrift_secret_weak") == []


def test_weak_secret_in_development_sets_the_gauge_without_detail() -> None:
    registry = CollectorRegistry()
    placeholder = "your-super-secret-jwt-key-change-me-please"
    env = {"ENVIRONMENT": "development", "JWT_SECRET": placeholder}
    app = JWTAuthMiddleware(echo_app, env=env, metrics=KeydriftMetrics(registry))
    asyncio.run(lifespan(app))
    assert samples(registry, "keydrift_secret_weak") == [({"spec": "jwt"}, 1.0)]
    text = generate_latest(registry).decode()
    assert placeholder not in text and "placeholder" not in text


def test_metrics_path_serves_exposition_unauthenticated_under_root_path(keyring_a: Keyring) -> None:
    registry = CollectorRegistry()
    app = JWTAuthMiddleware(echo_app, keyring=keyring_a, metrics=KeydriftMetrics(registry),
                            metrics_path="/metrics")
    with running(app, root_path="/api") as url:
        resp = httpx.get(url + "/metrics", timeout=5)
        assert httpx.get(url + "/other", timeout=5).status_code == 401
    assert resp.status_code == 200
    assert f'kid="{keyring_a.current_kid}"' in resp.text
    assert "keydrift_token_rejections_total" in resp.text
    with pytest.raises(Exception, match="metrics_path needs metrics"):
        JWTAuthMiddleware(echo_app, keyring=keyring_a, metrics_path="/metrics")


def test_two_middlewares_share_one_metrics_object(keyring_a: Keyring) -> None:
    from keydrift.spec import SecretSpec

    registry = CollectorRegistry()
    metrics = KeydriftMetrics(registry)
    other = Keyring.from_secrets(SECRET_B)
    first = JWTAuthMiddleware(echo_app, keyring=keyring_a, metrics=metrics, environment="e")
    second = JWTAuthMiddleware(echo_app, keyring=other, metrics=metrics, environment="e",
                               spec=SecretSpec(name="refresh", variables=("REFRESH_SECRET",)))
    for app in (first, second):
        asyncio.run(lifespan(app))
    assert {(k[0], k[3]) for k in key_info(registry)} == {
        ("jwt", "signing"), ("jwt", "verifying"), ("refresh", "signing"), ("refresh", "verifying")}


MULTIPROCESS_SCRIPT = textwrap.dedent('''
    import json, multiprocessing, os, sys
    from prometheus_client import generate_latest
    from keydrift.keyring import Keyring
    from keydrift.metrics import KeydriftMetrics

    a, b, c = (Keyring.from_secrets(s) for s in sys.argv[1:4])

    def worker():
        KeydriftMetrics().observe_keyring("jwt", "prod", c)  # then exits: a dead worker

    if __name__ == "__main__":
        proc = multiprocessing.get_context("spawn").Process(target=worker)
        proc.start(); proc.join()
        metrics = KeydriftMetrics()
        metrics.observe_keyring("jwt", "prod", a)
        metrics.observe_keyring("jwt", "prod", a.rotate(sys.argv[2], keep=0))  # a dropped
        text = generate_latest(metrics.collector_registry()).decode()
        files = sorted(os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
        print(json.dumps({"text": text, "dead": proc.pid, "me": os.getpid(), "files": files}))
''')


def test_multiprocess_view_drops_dead_workers_and_dropped_keys(tmp_path: Path) -> None:
    third = "Qm9" + SECRET_A[3:]
    multiproc = tmp_path / "mp"
    multiproc.mkdir()
    script = tmp_path / "mp_script.py"
    script.write_text(MULTIPROCESS_SCRIPT)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    out = subprocess.run([sys.executable, str(script), SECRET_A, SECRET_B, third], env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    found = {(s.labels["pid"], s.labels["kid"], s.labels["role"], s.value)
             for f in text_string_to_metric_families(result["text"])
             for s in f.samples if s.name == "keydrift_key_info"}
    me, b = str(result["me"]), Keyring.from_secrets(SECRET_B).current_kid
    assert found == {(me, b, "signing", 1.0), (me, b, "verifying", 1.0)}
    assert not any(f.endswith(f"_{result['dead']}.db") and f.startswith("gauge_live")
                   for f in result["files"])
