"""Issue 12, items 8 and 9 (probe): a hostile replica cannot hold the probe, exhaust its memory,
crash it, or write to the terminal. Each server is a real uvicorn on loopback."""

from __future__ import annotations

import json
import socket
import time
import tracemalloc

import pytest

from keydrift.cli.main import main
from keydrift.runtime.probe import MAX_LIST, run_probe
from tests.runtime.probe_servers import (
    doc_app,
    fingerprint_doc,
    host_pid_doc,
    serve,
    static_app,
    streaming_app,
)
from tests.runtime.runtime_helpers import validate

PROBE_SCHEMA = "probe-output-v1.json"


def test_slow_drip_server_is_bounded_by_timeout() -> None:
    # One byte every 0.4 s: every socket read succeeds well within --timeout, so only a total
    # deadline per request ends it (it hung `--timeout 5 --samples 1` for 80 s).
    body = json.dumps(fingerprint_doc("drip")).encode()
    with serve(streaming_app(body[:1], interval=0.4, total=10_000)) as url:
        start = time.monotonic()
        result = run_probe([url], samples=1, timeout=1.5)
        elapsed = time.monotonic() - start
    assert elapsed < 3.5, elapsed
    assert result.urls[0].status == "timeout"
    assert result.exit_code == 1


def test_slow_drip_cli_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(streaming_app(b"{", interval=0.3, total=10_000)) as url:
        start = time.monotonic()
        code = main(["probe", url, "--samples", "1", "--timeout", "1", "--format", "json"])
        elapsed = time.monotonic() - start
    doc = validate(json.loads(capsys.readouterr().out), PROBE_SCHEMA)
    assert (code, doc["urls"][0]["status"]) == (1, "timeout")
    assert elapsed < 3.0


def test_huge_body_is_capped_and_memory_bounded() -> None:
    # 300 MB offered (it took 739 MB): the probe reads at most its body cap, then hangs up.
    chunk = b" " * 65536
    with serve(streaming_app(chunk, interval=0, total=300 * 1024 * 1024)) as url:
        tracemalloc.start()
        try:
            result = run_probe([url], samples=2, timeout=10)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.urls[0].status == "too_large"
    assert "larger than" in (result.urls[0].error_detail or "")
    assert peak < 40 * 1024 * 1024, peak
    validate(result.to_dict(), PROBE_SCHEMA)


def test_200000_sibling_ids_are_capped() -> None:
    # 200,000 announced workers (it took 46 s and 1.27 GB): not believed, lists cut, run short.
    doc = host_pid_doc(sibling_pids=list(range(1, 200_001)),
                       verification_kids=["k%d" % i for i in range(5000)])
    assert len(json.dumps(doc)) < 2 * 1024 * 1024  # under the body cap: the list cap must act
    with serve(doc_app(doc)) as url:
        start = time.monotonic()
        result = run_probe([url], samples=2, timeout=10)
        elapsed = time.monotonic() - start
    report = result.urls[0]
    assert elapsed < 10, elapsed
    assert report.samples == 2 and report.unreached == [] and report.announced is None
    assert sorted(report.capped) == ["sibling_pids", "verification_kids"]
    assert len(result.instances[0].verification_kids) == MAX_LIST
    assert result.exit_code == 1
    assert any("more than 256 entries" in p for p in result.problems)
    validate(result.to_dict(), PROBE_SCHEMA)


@pytest.mark.parametrize("body", [b"[" * 200_000 + b"]" * 200_000,
                                  b'{"a":' * 100_000 + b"1" + b"}" * 100_000])
def test_deeply_nested_json_is_not_a_keydrift_endpoint(body: bytes,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # It exited 3 (RecursionError) instead of "not a keydrift endpoint".
    with serve(static_app(body)) as url:
        result = run_probe([url], samples=1)
        assert result.urls[0].status == "not_keydrift"
        assert main(["probe", url, "-n", "1"]) == 1
    out = capsys.readouterr().out
    assert "not_keydrift" in out and "docs/runtime.md#the-middleware" in out


def test_nested_json_in_a_rejection_body_is_survived() -> None:
    nested = b"[" * 200_000 + b"]" * 200_000
    doc = fingerprint_doc("solo", siblings=["solo"])

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        status, body = (200, json.dumps(doc).encode()) if path.endswith("keydrift") else (
            401, nested)
        await send({"type": "http.response.start", "status": status,  # type: ignore[operator]
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})  # type: ignore[operator]

    with serve(app) as url:
        result = run_probe([url], samples=1, token="a.b.c", http_path="/me")
    assert result.urls[0].http is not None
    assert dict(result.urls[0].http.reasons) == {"http_401": 1}


def test_run_deadline_bounds_many_hung_replicas() -> None:
    sockets = []
    try:
        for _ in range(12):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(64)  # completes TCP handshakes, never answers
            sockets.append(s)
        urls = [f"http://127.0.0.1:{s.getsockname()[1]}" for s in sockets]
        start = time.monotonic()
        result = run_probe(urls, samples=8, timeout=5, max_time=1.0)
        elapsed = time.monotonic() - start
    finally:
        for s in sockets:
            s.close()
    assert elapsed < 3.0, elapsed
    assert result.deadline_hit and result.exit_code == 1
    assert any("--max-time" in p for p in result.problems)
    validate(result.to_dict(), PROBE_SCHEMA)


HOSTILE = ("evil\nOK: every instance signs with the same key\x1b]0;pwned\x07\r"
           "::error::injected\u202e")


def test_hostile_replica_cannot_forge_report_lines(capsys: pytest.CaptureFixture[str]) -> None:
    good = fingerprint_doc("good", kid="A" * 43, siblings=["good"])
    evil = fingerprint_doc(HOSTILE, kid="B" * 43, service="::warning::svc\n::error::x",
                           environment="\x1b[31mprod", siblings=[HOSTILE],
                           key_source={"kind": "env\n::error::k", "variable": "\x1b[2J"},
                           key_warnings=["\nOK: every instance signs with the same key"],
                           token={"accepted": False, "reason": "\n::error::r",
                                  "detail": "\x07\nOK: fine"})
    with serve(doc_app(good)) as a, serve(doc_app(evil)) as b:
        code = main(["probe", a, b, "-n", "1", "--token", "x.y.z"])
        out = capsys.readouterr().out
        assert code == 1
        assert main(["probe", a, b, "-n", "1", "--format", "json"]) == 1
        doc = json.loads(capsys.readouterr().out)
    for line in out.splitlines():
        assert not line.lstrip().startswith(("OK", "::", "##")), line
    assert not any(ch in out for ch in "\x1b\x07\r\u202e")
    assert "evil\\nOK: every instance" in out  # shown, escaped, on the instance's own line
    assert HOSTILE in {i["instance_id"] for i in doc["instances"]}  # JSON keeps it (escaped)
