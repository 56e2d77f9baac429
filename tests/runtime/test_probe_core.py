"""The probe core against real servers on loopback, and the `keydrift probe` command."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from keydrift.cli.main import main
from keydrift.errors import UsageError
from keydrift.keyring import Keyring
from keydrift.runtime.probe import PROBE_SCHEMA_VERSION, run_probe
from tests.runtime.runtime_helpers import (
    SECRET_A,
    SECRET_B,
    chat_like,
    not_keydrift,
    running,
    validate,
)

PROBE_SCHEMA = "probe-output-v1.json"


@contextlib.contextmanager
def fleet(*apps: Any) -> Iterator[list[str]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(running(app)) for app in apps]


@contextlib.contextmanager
def silent_port() -> Iterator[str]:
    """A port that completes the TCP handshake (backlog) but never answers: a hung replica."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_agreeing_fleet_with_token_is_clean(keyring_a: Keyring) -> None:
    token = keyring_a.sign({"sub": "ann"})
    with fleet(*(chat_like(keyring_a, f"i{n}") for n in range(3))) as urls:
        result = run_probe(urls, samples=4, token=token, http_path="/me", ws_path="/ws")
    doc = validate(result.to_dict(), PROBE_SCHEMA)
    assert doc["schema_version"] == PROBE_SCHEMA_VERSION
    assert result.exit_code == 0, result.problems
    assert doc["agree"] and len(doc["groups"]) == 1 and doc["odd_ones_out"] == []
    assert sorted(i["instance_id"] for i in doc["instances"]) == ["i0", "i1", "i2"]
    for inst in doc["instances"]:
        assert inst["status"] == "agrees" and inst["token"] == {"accepted": True}
        assert inst["signing_kid"] == keyring_a.current_kid
    for url in doc["urls"]:
        assert url["status"] == "ok"
        assert url["http"]["acceptance_rate"] == 1.0
        # Each server is one process and says so: one sample each is enough (issue 11).
        assert (url["samples"], url["stopped_early"], url["announced_workers"]) == (1, True, 1)
        assert url["websocket"]["accepted"] == url["samples"]
        assert list(url["websocket"]["by_instance"]) == url["instances"]


def test_odd_one_out_is_named_with_reasons(keyring_a: Keyring, keyring_b: Keyring) -> None:
    token = keyring_a.sign({"sub": "ann"})
    apps = [chat_like(keyring_a, "good1"), chat_like(keyring_a, "good2"),
            chat_like(keyring_b, "odd")]
    with fleet(*apps) as urls:
        result = run_probe(urls, samples=2, token=token, ws_path="/ws", http_path="/me")
    doc = validate(result.to_dict(), PROBE_SCHEMA)
    assert result.exit_code == 1
    assert doc["majority_kid"] == keyring_a.current_kid
    assert doc["odd_ones_out"] == ["odd"]
    assert [g["size"] for g in doc["groups"]] == [2, 1]
    odd_url = doc["urls"][2]
    assert odd_url["websocket"]["acceptance_rate"] == 0.0
    # One process per server, announced as such: one attempt each (issue 11's early stop).
    # The middleware refuses a handshake with a bare 403 by default (no uvicorn ERROR line);
    # the reason comes from the instance's own verdict on its fingerprint endpoint.
    assert odd_url["websocket"]["reasons"] == {"http_403": 1}
    assert odd_url["websocket"]["per_attempt"] == [
        {"outcome": "rejected", "reason": "http_403", "instance": None}]
    assert odd_url["http"]["by_instance"]["odd"]["rejected"] == 1
    assert odd_url["http"]["reasons"] == {"unknown_kid": 1}
    odd = next(i for i in doc["instances"] if i["instance_id"] == "odd")
    assert odd["token"]["reason"] == "unknown_kid"
    assert any("odd" in p and "unknown_kid" in p for p in doc["problems"])


def test_failures_are_reported_per_url_never_raised(keyring_a: Keyring) -> None:
    with fleet(chat_like(keyring_a, "ok"), not_keydrift) as urls, silent_port() as hung:
        targets = [*urls, hung, closed_port()]
        result = run_probe(targets, samples=2, timeout=0.5)
    by_url = {u["url"]: u for u in validate(result.to_dict(), PROBE_SCHEMA)["urls"]}
    assert by_url[targets[0]]["status"] == "ok"
    assert by_url[targets[1]]["status"] == "not_keydrift"
    assert by_url[targets[2]]["status"] == "timeout"
    assert by_url[targets[3]]["status"] == "unreachable"
    assert result.exit_code == 1
    assert [i.instance_id for i in result.instances] == ["ok"]


def test_auth_required_endpoint_is_reported(keyring_a: Keyring) -> None:
    with fleet(chat_like(keyring_a, "x", fingerprint_auth=True)) as urls:
        without = run_probe(urls, samples=1)
        with_token = run_probe(urls, samples=1, token=keyring_a.sign({"sub": "a"}))
    assert without.to_dict()["urls"][0]["status"] == "auth_required"
    assert with_token.exit_code == 0


def test_rotation_compatibility(keyring_a: Keyring) -> None:
    old_then_new = Keyring.from_secrets(SECRET_A, [SECRET_B])
    new_then_old = Keyring.from_secrets(SECRET_B, [SECRET_A])
    with fleet(chat_like(old_then_new, "a"), chat_like(new_then_old, "b")) as urls:
        result = run_probe(urls, samples=1)
    assert result.rotation_compatible and result.exit_code == 1
    with fleet(chat_like(keyring_a, "a"), chat_like(new_then_old, "b")) as urls:
        assert not run_probe(urls, samples=1).rotation_compatible


def test_usage_errors() -> None:
    for kwargs in ({"samples": 0}, {"token": "t", "login_url": "http://x"},
                   {"ws_auth": "carrier-pigeon"}, {"ws_path": "/ws"}, {"http_path": "/me"}):
        with pytest.raises(UsageError):
            run_probe(["http://127.0.0.1:1"], **kwargs)
    with pytest.raises(UsageError):
        run_probe(["ftp://example.org"])
    with pytest.raises(UsageError):
        run_probe([])


def test_cli_exit_codes_and_json(keyring_a: Keyring, keyring_b: Keyring,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    with fleet(chat_like(keyring_a, "a"), chat_like(keyring_a, "b"),
               chat_like(keyring_b, "c")) as urls:
        assert main(["probe", *urls[:2], "-n", "2"]) == 0
        assert "OK: every instance" in capsys.readouterr().out
        assert main(["probe", *urls, "-n", "2", "--format", "json"]) == 1
        doc = validate(json.loads(capsys.readouterr().out), PROBE_SCHEMA)
        assert doc["odd_ones_out"] == ["c"]
        assert main(["probe", *urls, "-n", "1"]) == 1
        out = capsys.readouterr().out
        assert "odd one out" in out and "DISAGREEMENT" in out
    assert main(["probe", "not a url"]) == 2
    assert main(["probe", "http://127.0.0.1:1", "--token", "t", "--login", "http://x"]) == 2
    assert main(["probe", "http://127.0.0.1:1", "--login", "http://127.0.0.1:1/login",
                 "--login-body", "{nope"]) == 2
    assert main(["probe"]) == 2


def test_login_failure_is_a_finding(keyring_a: Keyring) -> None:
    with fleet(chat_like(keyring_a, "a"), not_keydrift) as urls:
        result = run_probe(urls[:1], samples=1, login_url=urls[1] + "/login", ws_path="/ws")
    doc = validate(result.to_dict(), PROBE_SCHEMA)
    assert doc["token"]["login"]["ok"] is False
    assert result.exit_code == 1


def test_missing_extra_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(UsageError) as exc:
        run_probe(["http://127.0.0.1:1"])
    assert "probe" in exc.value.message
    assert main(["probe", "http://127.0.0.1:1"]) == 2


@pytest.mark.parametrize("mode", ["subprotocol", "header", "query"])
def test_websocket_auth_modes(keyring_a: Keyring, mode: str) -> None:
    token = keyring_a.sign({"sub": "ann"})
    app = chat_like(keyring_a, "a", query_param="access_token")
    with fleet(app) as urls:
        result = run_probe(urls, samples=2, token=token, ws_path="/ws", ws_auth=mode)
    ws = result.to_dict()["urls"][0]["websocket"]
    assert ws["accepted"] == 1 and ws["by_instance"] == {
        "a": {"accepted": 1, "rejected": 0, "acceptance_rate": 1.0}}


def test_token_from_environment(keyring_a: Keyring, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KEYDRIFT_PROBE_TOKEN", keyring_a.sign({"sub": "ann"}))
    with fleet(chat_like(keyring_a, "a"), not_keydrift) as urls:
        assert main(["probe", urls[0], "-n", "1", "--format", "json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["token"]["source"] == "argument"
        assert doc["instances"][0]["token"] == {"accepted": True}
        # --login wins over the environment (here it fails: the login URL is no login).
        assert main(["probe", urls[0], "-n", "1", "--login", urls[1] + "/login"]) == 1


def _announcing(keyring: Keyring, extra_pid: int) -> Any:
    """A fingerprint endpoint that announces one more worker than ever answers."""
    import os

    host = socket.gethostname()
    doc = {
        "schema_version": 1, "keydrift": "test", "service": "api",
        "instance_id": f"{host}:{os.getpid()}", "hostname": host, "pid": os.getpid(),
        "environment": None, "algorithm": "HS256", "signing_kid": keyring.current_kid,
        "verification_kids": list(keyring.kids), "key_source": {"kind": "env", "variable": "X"},
        "key_warnings": [], "sibling_pids": [os.getpid(), extra_pid],
    }
    body = json.dumps(doc).encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return app


def test_announced_worker_that_never_answers_is_named(keyring_a: Keyring) -> None:
    import os

    ghost = f"{socket.gethostname()}:{2**22 + 7}"
    with fleet(_announcing(keyring_a, 2**22 + 7)) as urls:
        result = run_probe(urls, samples=4)
    report = result.urls[0]
    assert report.unreached == [ghost]
    assert report.samples > 4  # it kept sampling before giving up
    assert report.instances == [f"{socket.gethostname()}:{os.getpid()}"]
    assert result.exit_code == 1
    assert any("never answered" in p and ghost in p for p in result.problems)
    validate(result.to_dict(), PROBE_SCHEMA)


def test_custom_instance_names_announce_a_count(keyring_a: Keyring) -> None:
    # chat_like names its instance, so pids cannot name the workers; their number is still
    # known (one process here), which is enough to stop after the first answer.
    with fleet(chat_like(keyring_a, "one")) as urls:
        result = run_probe(urls, samples=4)
    report = result.urls[0]
    assert (report.unreached, report.samples, report.announced) == ([], 1, 1)
    assert report.stopped_early and result.exit_code == 0


def _announcing_v2(keyring: Keyring, siblings: list[str]) -> Any:
    """A schema-2 fingerprint endpoint announcing opaque sibling ids, of which only "me" answers."""
    doc = {"schema_version": 2, "instance_id": "me", "algorithm": "HS256",
           "signing_kid": keyring.current_kid, "verification_kids": list(keyring.kids),
           "siblings": siblings}
    body = json.dumps(doc).encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return app


def test_schema_2_siblings_are_expected_and_bounded(keyring_a: Keyring) -> None:
    with fleet(_announcing_v2(keyring_a, ["me", "ghost"])) as urls:
        result = run_probe(urls, samples=4)
    assert result.urls[0].unreached == ["ghost"] and result.exit_code == 1
    # No detail in a public document: the instance is still grouped, by kid alone.
    assert result.instances[0].key_source == {} and result.instances[0].service is None
    validate(result.to_dict(), PROBE_SCHEMA)
    # A hostile announcer: more than 256 siblings are not believed at all (the probe samples
    # as if nothing was announced and reports the oversized list); ids over 128 characters are
    # never awaited.
    hostile = ["me", *(f"w{i}" for i in range(100_000)), "x" * 10_000]
    with fleet(_announcing_v2(keyring_a, hostile)) as urls:
        bounded = run_probe(urls, samples=2)
    assert bounded.urls[0].unreached == [] and bounded.urls[0].samples == 2
    assert bounded.urls[0].capped == ["siblings"] and bounded.exit_code == 1
    with fleet(_announcing_v2(keyring_a, ["me", "y" * 129])) as urls:
        long_id = run_probe(urls, samples=2)
    assert long_id.urls[0].unreached == [] and long_id.exit_code == 0
