"""A real Prometheus server scraping real uvicorn replicas and workers of the chat service.

Two replicas with different secrets: Prometheus sees two signing kids and the shipped drift
expression is true; two agreeing replicas: it is false. Two uvicorn workers sharing a secret
file, one of them respawned after the file changed: the scrape shows both kids, one per worker
pid, and nothing of the worker that died.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from keydrift.keyring import Keyring
from tests.integration.prometheus_server import drift_expression, prometheus

pytestmark = pytest.mark.integration


def kid_of(secret: str) -> str:
    return Keyring.from_secrets(secret).current_kid


def target(replica: Any) -> str:
    return replica.url.removeprefix("http://")


def signing_kids(server: Any) -> set[str]:
    return {r["metric"]["kid"] for r in server.query('keydrift_key_info{role="signing"} == 1')}


@pytest.mark.timeout(120)
def test_prometheus_sees_two_kids_and_drift_between_replicas(fleet: Any, tmp_path: Path) -> None:
    a, b = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    r1 = fleet.start("p1", {"JWT_SECRET": a, "CHAT_METRICS": "1"}, wait=False)
    r2 = fleet.start("p2", {"JWT_SECRET": b, "CHAT_METRICS": "1"}, wait=False)
    for r in (r1, r2):
        fleet.wait_ready(r)
    with prometheus(tmp_path, {"chat": [target(r1), target(r2)]}) as server:
        server.wait_for("both replicas scraped", lambda: len(signing_kids(server)) == 2)
        assert signing_kids(server) == {kid_of(a), kid_of(b)}
        drift = server.query(drift_expression())
        # Each replica rejects the other's tokens: both kids, one rejecting process each.
        assert {(r["metric"]["kid"], r["value"][1]) for r in drift} == {
            (kid_of(a), "1"), (kid_of(b), "1")}
        assert {r["metric"]["job"] for r in drift} == {"chat"}
        rejections = server.query('sum(keydrift_token_rejections_total{job="chat"})')
        assert rejections and rejections[0]["value"][1] == "0"


@pytest.mark.timeout(120)
def test_prometheus_drift_expression_false_for_agreeing_replicas(fleet: Any, tmp_path: Path) -> None:
    shared = secrets.token_urlsafe(48)
    replicas = [fleet.start(f"q{i}", {"JWT_SECRET": shared, "CHAT_METRICS": "1"}, wait=False)
                for i in range(2)]
    for r in replicas:
        fleet.wait_ready(r)
    with prometheus(tmp_path, {"chat": [target(r) for r in replicas]}) as server:
        server.wait_for("both replicas scraped", lambda: len(server.query(
            'count by (instance) (keydrift_key_info{role="signing"} == 1)')) == 2)
        assert signing_kids(server) == {kid_of(shared)}
        assert server.query(drift_expression()) == []
        # The same query turns true once one replica restarts with another secret: the empty
        # answer above is not an expression that can never be true.
        other = secrets.token_urlsafe(48)
        fleet.stop(replicas[1])
        fleet.start("q1'", {"JWT_SECRET": other, "CHAT_METRICS": "1"}, port=replicas[1].port)
        server.wait_for("the restarted replica's key", lambda: kid_of(other) in signing_kids(server))
        server.wait_for("the old process's series to go stale",
                        lambda: signing_kids(server) == {kid_of(shared), kid_of(other)}
                        and len(server.query(drift_expression())) == 2)


def worker_pids(supervisor: int) -> set[int]:
    """uvicorn's worker processes: children started through multiprocessing's spawn (the
    supervisor has one more child, multiprocessing's resource tracker)."""
    with open(f"/proc/{supervisor}/task/{supervisor}/children", encoding="ascii") as fh:
        children = [int(p) for p in fh.read().split()]
    workers = set()
    for pid in children:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            workers.add(pid)
    return workers


def scrape(url: str) -> dict[str, tuple[str, set[str]]]:
    """Per worker pid: (signing kid, verifying kids), from one /metrics answer."""
    text = httpx.get(url + "/metrics", timeout=5).text
    found: dict[str, tuple[str, set[str]]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "keydrift_key_info":
            continue
        for sample in family.samples:
            pid, kid, role = sample.labels["pid"], sample.labels["kid"], sample.labels["role"]
            signing, verifying = found.get(pid, ("", set()))
            if role == "signing":
                signing = kid
            else:
                verifying = verifying | {kid}
            found[pid] = (signing, verifying)
    return found


@pytest.mark.timeout(150)
def test_respawned_worker_with_changed_secret_file_shows_both_kids(fleet: Any,
                                                                    tmp_path: Path) -> None:
    old, new = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    secret_file = tmp_path / "jwt_secret"
    secret_file.write_text(old + "\n")
    multiproc = tmp_path / "prometheus-multiproc"
    multiproc.mkdir()
    env = {"JWT_SECRET_FILE": str(secret_file), "CHAT_METRICS": "1",
           "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    replica = fleet.start("w", env, workers=2)
    supervisor = replica.proc.pid
    first = worker_pids(supervisor)
    assert len(first) == 2
    deadline = time.monotonic() + 30
    while {int(p) for p in scrape(replica.url)} != first:  # both workers published
        assert time.monotonic() < deadline, scrape(replica.url)
        time.sleep(0.2)
    assert {v[0] for v in scrape(replica.url).values()} == {kid_of(old)}

    # The secret file changes (a new secret mounted); one worker dies and uvicorn respawns it.
    secret_file.write_text(new + "\n")
    victim = min(first)
    os.kill(victim, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while True:
        pids = worker_pids(supervisor)
        seen = scrape(replica.url)
        if len(pids) == 2 and victim not in pids and {int(p) for p in seen} == pids:
            break
        assert time.monotonic() < deadline, (pids, seen)
        time.sleep(0.2)
    (survivor,) = first - {victim}
    (respawned,) = pids - {survivor}
    assert seen[str(survivor)] == (kid_of(old), {kid_of(old)})
    assert seen[str(respawned)] == (kid_of(new), {kid_of(new)})
    assert str(victim) not in seen  # the dead worker's file was dropped, not left as a phantom

    # A real Prometheus scraping the one port sees both workers' kids and the drift.
    with prometheus(tmp_path, {"chat": [target(replica)]}) as server:
        server.wait_for("two worker pids", lambda: len(signing_kids(server)) == 2)
        by_pid = {r["metric"]["pid"]: r["metric"]["kid"]
                  for r in server.query('keydrift_key_info{role="signing"} == 1')}
        assert by_pid == {str(survivor): kid_of(old), str(respawned): kid_of(new)}
        assert {r["metric"]["kid"] for r in server.query(drift_expression())} == {
            kid_of(old), kid_of(new)}
