"""`keydrift generate`, `keydrift fingerprint`, `--version` and the error handler."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from keydrift import fingerprint
from keydrift._version import __version__
from keydrift.cli.main import main
from keydrift.strength import check_strength


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize(("nbytes", "fmt", "length"),
                         [("32", "hex", 64), ("64", "hex", 128), ("48", "urlsafe", 64),
                          ("64", "base64", 88)])
def test_generate_formats(capsys: pytest.CaptureFixture[str], nbytes: str, fmt: str,
                          length: int) -> None:
    assert main(["generate", "--bytes", nbytes, "--format", fmt]) == 0
    value = capsys.readouterr().out.strip()
    assert len(value) == length
    assert check_strength(value, "HS512" if nbytes == "64" else "HS256").ok


def test_generate_fernet_is_a_valid_fernet_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--format", "fernet"]) == 0
    key = capsys.readouterr().out.strip()
    assert len(base64.urlsafe_b64decode(key)) == 32
    Fernet(key.encode())


def test_generate_values_differ(capsys: pytest.CaptureFixture[str]) -> None:
    main(["generate"])
    main(["generate"])
    first, second = capsys.readouterr().out.split()
    assert first != second


def test_generate_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "jwt"
    assert main(["generate", "--output", str(path)]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert capsys.readouterr().out == ""  # the secret went to the file only
    content = path.read_text()
    assert main(["generate", "--output", str(path)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert path.read_text() == content


def test_generate_rejects_bad_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--bytes", "16"]) == 2
    assert "Invalid value" in capsys.readouterr().err


def test_fingerprint_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                          strong_secret: str) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET_KEY", strong_secret)
    monkeypatch.delenv("JWT_SECRET_PRODUCTION", raising=False)
    assert main(["fingerprint", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1
    assert doc["variable"] == "JWT_SECRET_KEY" and doc["environment"] == "production"
    assert doc["kid"] == fingerprint(strong_secret) and doc["fingerprint"] == doc["kid"][:12]
    assert doc["strength"] == {"ok": True, "problems": []}


def test_fingerprint_env_flag_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str],
                                         strong_secret: str) -> None:
    for name in list(os.environ):
        if name.startswith("JWT_SECRET") or name == "ENVIRONMENT":
            monkeypatch.delenv(name)
    dotenv = tmp_path / "staging.env"
    dotenv.write_text(f"JWT_SECRET_STAGING={strong_secret}\n")
    assert main(["fingerprint", "--env", "staging", "--dotenv", str(dotenv)]) == 0
    out = capsys.readouterr().out
    assert f"{dotenv}:1 (JWT_SECRET_STAGING)" in out
    assert fingerprint(strong_secret)[:12] in out


def test_fingerprint_missing_exit_1(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    for name in list(os.environ):
        if name.startswith("JWT_SECRET"):
            monkeypatch.delenv(name)
    assert main(["fingerprint", "--env", "staging"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("keydrift: error: no jwt secret found for environment 'staging'")
    assert "env JWT_SECRET_STAGING; env JWT_SECRET_STAGING_FILE" in err
    assert "keydrift generate" in err


def test_fingerprint_custom_variables(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str],
                                      strong_secret: str) -> None:
    monkeypatch.setenv("APP_SIGNING_KEY", strong_secret)
    assert main(["fingerprint", "--env", "dev", "--var", "APP_SIGNING_KEY"]) == 0
    assert "env APP_SIGNING_KEY" in capsys.readouterr().out


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2


def test_console_script_and_module_entry() -> None:
    out = subprocess.run([sys.executable, "-m", "keydrift", "--version"], capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == f"keydrift, version {__version__}"
