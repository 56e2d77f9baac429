"""Issue 11 (probe): bounded WebSocket checks without a hello message, early stop, advice in
check's vocabulary, a rotation-aware exit, and progress on a TTY. Real uvicorn servers."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keydrift.cli.main import main
from keydrift.keyring import Keyring
from keydrift.rules.interface import DOCS_BASE_URL
from keydrift.runtime.probe import DOCS_URL, run_probe
from tests.runtime.probe_servers import doc_app, fingerprint_doc, serve, ws_silent_app
from tests.runtime.runtime_helpers import SECRET_A, SECRET_B, chat_like, not_keydrift, validate

PROBE_SCHEMA = "probe-output-v1.json"
# Key sources are details: public documents leave them out, the detail token unlocks them.
DETAIL = "kd-detail-" + "q7Wm2Xr9Lp4Tz8Nc3Vb6Hs1Jd5Fg0Ya"


def test_docs_links_match_checks() -> None:
    assert DOCS_URL + "docs/rules/" == DOCS_BASE_URL


def test_websocket_without_hello_is_bounded_and_counted(keyring_a: Keyring) -> None:
    # A handler that accepts and never speaks took 28.5 s and left by_instance empty with no
    # word of why. No announcement here, so all 8 samples are taken.
    doc = fingerprint_doc("quiet", kid=keyring_a.current_kid)
    token = keyring_a.sign({"sub": "ann"})
    with serve(ws_silent_app(doc)) as url:
        start = time.monotonic()
        result = run_probe([url], samples=8, token=token, ws_path="/ws/chat", timeout=5)
        elapsed = time.monotonic() - start
    ws = result.urls[0].websocket
    assert ws is not None
    assert (ws.attempts, ws.accepted, ws.hello) == (8, 8, False)
    assert [a["outcome"] for a in ws.per_attempt] == ["accepted"] * 8
    assert ws.by_instance == {}
    # One hello wait (1 s) for the first wave, then sockets close at once.
    assert elapsed < 4.0, elapsed
    assert ws.note is not None and "docs/runtime.md" in ws.note and "step 3" in ws.note
    validate(result.to_dict(), PROBE_SCHEMA)


def test_websocket_note_is_printed(keyring_a: Keyring, capsys: pytest.CaptureFixture[str]) -> None:
    doc = fingerprint_doc("quiet", kid=keyring_a.current_kid)
    with serve(ws_silent_app(doc)) as url:
        code = main(["probe", url, "-n", "2", "--token", keyring_a.sign({"sub": "a"}),
                     "--ws", "/ws"])
    out = capsys.readouterr().out
    assert code == 0
    assert "websocket" in out and "2/2 accepted" in out
    assert "note: accepted sockets named no instance" in out and "step 3" in out


def test_single_process_needs_one_request_and_silent_servers_get_all_samples() -> None:
    solo = fingerprint_doc("solo", siblings=["solo"])
    silent = fingerprint_doc("silent")  # announces nothing
    with serve(doc_app(solo)) as a, serve(doc_app(silent)) as b:
        result = run_probe([a, b], samples=8)
    by_url = {u.url: u for u in result.urls}
    assert (by_url[a].samples, by_url[a].stopped_early) == (1, True)
    assert (by_url[b].samples, by_url[b].stopped_early) == (8, False)
    assert result.exit_code == 0


def test_announced_workers_are_awaited_then_named() -> None:
    # Announces itself and "w2"; w2 never answers: the probe keeps trying (bounded), names it.
    doc = fingerprint_doc("w1", siblings=["w1", "w2"])
    with serve(doc_app(doc)) as url:
        result = run_probe([url], samples=2)
    report = result.urls[0]
    assert report.unreached == ["w2"] and report.samples > 2 and report.announced == 2
    assert result.exit_code == 1
    advice = [a for a in result.advice if a.about == "workers"]
    assert advice and "w2" in advice[0].problem and "--samples" in advice[0].fix


def _env_keyring(secret: str) -> Keyring:
    return Keyring.from_spec(env={"JWT_SECRET": secret})


def test_advice_per_group_and_per_error(capsys: pytest.CaptureFixture[str]) -> None:
    # Env-delivered keys that differ: KD201's fix. Keys of the process's own: KD102's.
    with serve(chat_like(_env_keyring(SECRET_A), "a1", detail_token=DETAIL)) as a1, \
            serve(chat_like(_env_keyring(SECRET_A), "a2", detail_token=DETAIL)) as a2, \
            serve(chat_like(_env_keyring(SECRET_B), "b", detail_token=DETAIL)) as b, \
            serve(chat_like(Keyring.from_secrets(SECRET_B + "x"), "gen",
                            detail_token=DETAIL)) as gen, \
            serve(not_keydrift) as html:
        result = run_probe([a1, a2, b, gen, html], samples=1, detail_token=DETAIL)
        assert main(["probe", a1, a2, b, gen, html, "-n", "1", "--detail-token", DETAIL]) == 1
        public = run_probe([a1, a2, b], samples=1)
    out = capsys.readouterr().out
    by_subject = {a.subject: a for a in result.advice}
    env_group = by_subject[_env_keyring(SECRET_B).current_kid]
    assert env_group.about == "group" and env_group.docs == DOCS_BASE_URL + "KD201.md"
    assert "deliver one value to all of them from one source" in env_group.fix
    literal = by_subject[Keyring.from_secrets(SECRET_B + "x").current_kid]
    assert literal.docs == DOCS_BASE_URL + "KD102.md"
    page = by_subject[html]
    assert page.about == "url" and page.docs.endswith("docs/runtime.md#the-middleware")
    assert "JWTAuthMiddleware" in page.fix
    doc = validate(result.to_dict(), PROBE_SCHEMA)
    assert [a["problem"] for a in doc["advice"]] == doc["problems"]
    assert f"docs: {DOCS_BASE_URL}KD201.md" in out and "fix: deliver one value" in out
    assert "docs: https://github.com/keydrift/keydrift/blob/main/docs/runtime.md#the-middleware" \
        in out
    # Without the detail token the source is unknown: the advice covers both causes.
    [anonymous] = [a for a in public.advice if a.about == "group"]
    assert "KD102" in anonymous.fix and "--detail-token" in anonymous.fix


def test_file_sourced_keys_that_differ_get_the_restart_advice(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_text(SECRET_A)
    two.write_text(SECRET_B)
    ring_1 = Keyring.from_spec(env={"JWT_SECRET_FILE": str(one)})
    ring_2 = Keyring.from_spec(env={"JWT_SECRET_FILE": str(two)})
    with serve(chat_like(ring_1, "f1", detail_token=DETAIL)) as a, \
            serve(chat_like(ring_1, "f2", detail_token=DETAIL)) as b, \
            serve(chat_like(ring_2, "f3", detail_token=DETAIL)) as c:
        result = run_probe([a, b, c], samples=1, detail_token=DETAIL)
    [group] = [x for x in result.advice if x.about == "group"]
    assert "the secret file changed after some instances started" in group.problem
    assert "restart the instances whose key differs" in group.fix


def test_allow_rotation_passes_a_correct_two_phase_rotation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    old_then_new = Keyring.from_secrets(SECRET_A, [SECRET_B])
    new_then_old = Keyring.from_secrets(SECRET_B, [SECRET_A])
    with serve(chat_like(old_then_new, "a")) as a, serve(chat_like(new_then_old, "b")) as b:
        strict = run_probe([a, b], samples=1)
        relaxed = run_probe([a, b], samples=1, allow_rotation=True)
        assert main(["probe", a, b, "-n", "1", "--allow-rotation"]) == 0
        out = capsys.readouterr().out
        assert main(["probe", a, b, "-n", "1"]) == 1
    assert strict.rotation_in_progress and strict.exit_code == 1
    assert relaxed.exit_code == 0 and not relaxed.agree
    assert [x.about for x in relaxed.advice] == ["rotation"]
    assert "rotating-a-key-without-rejecting-anyone" in relaxed.advice[0].docs
    assert "OK (--allow-rotation)" in out
    doc = validate(relaxed.to_dict(), PROBE_SCHEMA)
    assert doc["rotation_in_progress"] and doc["exit_code"] == 0


def test_allow_rotation_does_not_pass_a_broken_rotation() -> None:
    with serve(chat_like(Keyring.from_secrets(SECRET_A), "a")) as a, \
            serve(chat_like(Keyring.from_secrets(SECRET_B, [SECRET_A]), "b")) as b:
        result = run_probe([a, b], samples=1, allow_rotation=True)
    assert not result.rotation_compatible and result.exit_code == 1


# --- progress on a TTY: a real pseudo-terminal, a real subprocess ---------------------------


def _run_on(stderr_tty: bool, url: str) -> tuple[int, str]:
    cmd = [sys.executable, "-m", "keydrift", "probe", url, "-n", "1", "--timeout", "5"]
    if not stderr_tty:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        return proc.returncode, proc.stderr
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave,
                                stdin=subprocess.DEVNULL)
        os.close(slave)
        chunks = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        proc.wait(30)
        return proc.returncode, b"".join(chunks).decode(errors="replace")
    finally:
        os.close(master)


def test_progress_on_a_tty_after_one_second() -> None:
    slow = doc_app(fingerprint_doc("slow", siblings=["slow"]), delay=1.8)
    with serve(slow) as url:
        code, tty_err = _run_on(True, url)
        code_pipe, pipe_err = _run_on(False, url)
    assert code == code_pipe == 0
    assert "keydrift probe: fingerprints 0/1 URL(s)" in tty_err
    assert "keydrift probe:" not in pipe_err


def test_no_progress_when_quick() -> None:
    with serve(doc_app(fingerprint_doc("quick", siblings=["quick"]))) as url:
        code, tty_err = _run_on(True, url)
    assert code == 0 and "keydrift probe:" not in tty_err


def test_json_output_stays_clean_with_progress(tmp_path: Path) -> None:
    slow = doc_app(fingerprint_doc("slow", siblings=["slow"]), delay=1.5)
    with serve(slow) as url:
        master, slave = pty.openpty()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "keydrift", "probe", url, "-n", "1", "--format", "json"],
                stdout=subprocess.PIPE, stderr=slave, timeout=60, check=False)
        finally:
            os.close(slave)
            os.close(master)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["urls"][0]["status"] == "ok"


def test_later_document_shapes_are_read() -> None:
    # Details under "detail" (kept for credential holders), and a custom-named single worker
    # announcing its count only: both are understood, and the count stops sampling early.
    doc = fingerprint_doc("named", workers=1)
    for key in ("service", "environment", "key_source", "key_warnings", "keydrift"):
        doc.pop(key, None)
    doc["schema_version"] = 2
    doc["detail"] = {"service": "api", "environment": "staging", "keydrift": "9",
                     "key_source": {"kind": "file", "variable": "JWT_SECRET"},
                     "key_warnings": []}
    with serve(doc_app(doc)) as url:
        result = run_probe([url], samples=8)
    [inst] = result.instances
    assert (inst.service, inst.environment, inst.key_source["kind"]) == ("api", "staging", "file")
    assert (result.urls[0].samples, result.urls[0].announced) == (1, 1)
