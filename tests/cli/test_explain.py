"""``keydrift explain`` in-process: exit codes, formats, flags, and the canary."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from keydrift.cli.main import main
from keydrift.explain.schema import SCHEMA
from keydrift.strength import known_weak_entries
from tests.explain.explain_helpers import NOW, OTHER, STRONG, sign

NOW_ARGS = ["--now", str(NOW), "--no-process-env"]


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests that read the process environment must not see a developer's or CI's secrets.
    from keydrift.explain.candidates import known_specs

    specs = known_specs()
    for name in list(os.environ):
        base = name.removesuffix("_FILE")
        if name == "ENVIRONMENT" or any(spec.matches_variable(base) for spec in specs):
            monkeypatch.delenv(name)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["explain", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = _run(capsys, *args, "--format", "json")
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    return code, doc


def test_verified_exit_0(monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KD_TEST_SECRET", STRONG)
    code, doc = _json(capsys, sign(STRONG), "--secret-env", "KD_TEST_SECRET", *NOW_ARGS)
    assert code == 0
    verdict = doc["verdict"]
    assert isinstance(verdict, dict)
    assert (verdict["status"], verdict["reason"], verdict["variant"]) == (
        "verified", None, "exact")
    assert verdict["source"]["variable"] == "KD_TEST_SECRET"
    assert doc["schema_version"] == 2


def test_rejected_exit_1_with_text(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KD_TEST_SECRET", STRONG)
    code, out, err = _run(capsys, sign(OTHER), "--secret-env", "KD_TEST_SECRET", *NOW_ARGS)
    assert code == 1
    assert out.startswith("REJECTED (signature):")
    assert "keydrift explain: rejected (signature)" in err


def test_malformed_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _json(capsys, "a.b", *NOW_ARGS)
    assert code == 2
    assert doc["verdict"]["status"] == "malformed"
    assert doc["malformed"]["kind"] == "segments"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", sign(STRONG), "--now", "yesterday-ish"]) == 2
    assert "--now" in capsys.readouterr().err
    assert main(["explain", sign(STRONG), "--algorithms", "HS999"]) == 2
    assert main(["explain", sign(STRONG), "--secret-env", "KD_DEFINITELY_UNSET_VAR"]) == 2
    assert main(["explain", sign(STRONG), "--secret-file", "/nonexistent/kd/secret"]) == 2
    assert main(["explain", sign(STRONG), "--format", "xml"]) == 2


def test_token_from_stdin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "jwt"
    secret.write_text(STRONG)
    stdin = io.TextIOWrapper(io.BytesIO(f"Bearer {sign(STRONG)}\n".encode()))
    monkeypatch.setattr("sys.stdin", stdin)
    code, doc = _json(capsys, "-", "--secret-file", str(secret), *NOW_ARGS)
    assert code == 0
    assert doc["input"]["cleaned"] == ["stripped the 'Bearer' prefix"]


def test_secret_file_keeps_its_exact_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 11: "its exact bytes are kept". A token signed with the file's bytes, newline
    # included, verifies as it is; one signed without the newline verifies only through the
    # variant that strips it, and the verdict says so.
    secret = tmp_path / "jwt"
    secret.write_bytes(STRONG.encode() + b"\n")
    code, doc = _json(capsys, sign(STRONG + "\n"), "--secret-file", str(secret), *NOW_ARGS)
    assert code == 0
    assert (doc["verdict"]["status"], doc["verdict"]["variant"]) == ("verified", "exact")
    code, doc = _json(capsys, sign(STRONG), "--secret-file", str(secret), *NOW_ARGS)
    assert code == 1
    verdict = doc["verdict"]
    assert (verdict["reason"], verdict["variant"]) == ("signature", "whitespace")
    assert verdict["source"]["path"] == str(secret)
    assert "with its trailing newline stripped" in verdict["summary"]
    secret.write_bytes(STRONG.encode() + b"\r\n")
    code, doc = _json(capsys, sign(STRONG + "\r\n"), "--secret-file", str(secret), *NOW_ARGS)
    assert (code, doc["verdict"]["variant"]) == (0, "exact")
    code, doc = _json(capsys, sign(STRONG + "\n"), "--secret-file", str(secret), *NOW_ARGS)
    assert (code, doc["verdict"]["reason"]) == (1, "signature")


def test_now_iso_and_expectations(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KD_TEST_SECRET", STRONG)
    token = sign(STRONG, {"aud": "billing", "exp": NOW + 100})
    code, doc = _json(capsys, token, "--secret-env", "KD_TEST_SECRET", "--no-process-env",
                      "--now", "2027-01-15T08:00:00Z", "--audience", "api")
    assert code == 1
    assert doc["verdict"]["reason"] == "audience"
    assert doc["times"][0]["relative"] == "expires in 1m40s"
    code, doc = _json(capsys, token, "--secret-env", "KD_TEST_SECRET", "--no-process-env",
                      "--now", str(NOW + 200), "--leeway", "150")
    assert (code, doc["verdict"]["status"]) == (0, "verified")


def test_process_env_candidates_and_expected_winner(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("JWT_SECRET_STAGING", STRONG)
    monkeypatch.setenv("JWT_SECRET_PRODUCTION", OTHER)
    code, doc = _json(capsys, sign(OTHER), "--now", str(NOW))
    assert code == 1
    verdict = doc["verdict"]
    assert verdict["source"]["variable"] == "JWT_SECRET_PRODUCTION"
    assert "production secret where staging is expected" in verdict["summary"]
    code, doc = _json(capsys, sign(STRONG), "--now", str(NOW))
    assert (code, doc["verdict"]["status"]) == (0, "verified")


def test_secret_file_env_var_is_a_candidate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "jwt"
    secret.write_bytes(STRONG.encode() + b"\n")
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    monkeypatch.setenv("JWT_SECRET_FILE", str(secret))
    code, doc = _json(capsys, sign(STRONG), "--now", str(NOW))
    assert code == 0
    assert doc["verdict"]["source"]["origin"] == "env_file"


def _weak() -> bytes:
    entries = known_weak_entries()
    return next(e for e in entries[50_000:] if len(e) >= 16 and e.isascii() and b'"' not in e
                and b"\\" not in e)


def test_weak_secret_hidden_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    entry = _weak()
    token = sign(entry)
    for fmt in ("text", "json"):
        code, out, err = _run(capsys, token, *NOW_ARGS, "--format", fmt)
        assert code == 1
        assert "weak_secret" in out
        assert entry.decode() not in out + err
    code, doc = _json(capsys, token, *NOW_ARGS, "--show-weak-secret")
    assert doc["weak_secret"]["secret"] == entry.decode()
    code, out, _ = _run(capsys, token, *NOW_ARGS, "--show-weak-secret")
    assert entry.decode() in out


def _forms(value: str) -> list[str]:
    raw = value.encode()
    return [value, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(),
            raw.hex(), value[8:40]]


@pytest.mark.parametrize("signer", ["same", "newline", "quoted", "other", "b64"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_canary_never_printed(canary: str, signer: str, fmt: str, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    key = {
        "same": canary, "newline": canary + "\n", "quoted": f'"{canary}"', "other": OTHER,
        "b64": base64.b64encode(canary.encode()).decode(),
    }[signer]
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("JWT_SECRET_STAGING", canary)
    monkeypatch.setenv("KD_CANARY", canary)
    secret_file = tmp_path / "s"
    secret_file.write_text(canary + "\n")
    (tmp_path / ".env.staging").write_text(f"JWT_SECRET_STAGING={canary}\n")
    code, out, err = _run(capsys, sign(key), str(tmp_path), "--secret-env", "KD_CANARY",
                          "--secret-file", str(secret_file), "--now", str(NOW), "--format", fmt)
    assert code in (0, 1)
    for form in _forms(canary):
        assert form not in out
        assert form not in err


def test_fifo_secret_file_is_refused_not_waited_on(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert main(["explain", sign(STRONG), "--secret-file", str(fifo), *NOW_ARGS]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_path_with_environment_names_the_other_environments_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".env.staging").write_text(f"JWT_SECRET_STAGING={STRONG}\n")
    (tmp_path / ".env.production").write_text(f"JWT_SECRET_PRODUCTION={OTHER}\n")
    code, doc = _json(capsys, sign(OTHER), str(tmp_path), "--environment", "staging", *NOW_ARGS)
    assert code == 1
    verdict = doc["verdict"]
    assert verdict["source"]["path"] == ".env.production"
    assert verdict["source"]["line"] == 1
    assert verdict["variant"] == "exact"
    services = doc["services"]
    assert isinstance(services, list)
    code, doc = _json(capsys, sign(STRONG), str(tmp_path), "--environment", "staging",
                      *NOW_ARGS)
    assert (code, doc["verdict"]["status"]) == (0, "verified")


def test_decode_only_mode(capsys: pytest.CaptureFixture[str]) -> None:
    # Issue 11: like `step crypto jwt inspect --insecure`, a well-formed token exits 0 with no
    # candidate at all, even expired or carrying an attack header (both are still reported).
    token = sign(OTHER, {"exp": NOW - 7200}, headers={"jku": "https://x.example/k"})
    code, out, err = _run(capsys, token, "--decode", *NOW_ARGS)
    assert code == 0
    assert out.startswith("DECODED: a well-formed compact JWS (alg 'HS256')")
    assert "expired 2h00m ago" in out and "injected header" in out
    assert "candidates" not in out
    assert err.strip() == "keydrift explain: decoded"
    code, doc = _json(capsys, token, "--decode", *NOW_ARGS)
    assert (code, doc["mode"], doc["verdict"]["status"]) == (0, "decode", "decoded")
    assert doc["candidates"] == [] and doc["values"] == []
    # Not a token: still exit 2.
    assert _run(capsys, "abc.def", "--decode")[0] == 2


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e400", "-1e400", "1e300",
                                   "+Infinity"])
def test_now_nan_inf_1e400_is_a_usage_error(value: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    # Issue 12 item 13: these exited 3 (an internal error) instead of 2 with a clear line.
    code, out, err = _run(capsys, sign(STRONG), "--now", value, "--no-process-env")
    assert code == 2
    assert out == ""
    first = err.splitlines()[0]
    assert first.startswith("keydrift: error: --now ") and "not a usable time" in first
    assert "Traceback" not in err
