"""Item 1: a known-weak secret is named by its category, never by its entry in the shipped list.

The list ships inside keydrift, so "entry 9 of the public jwt-secrets list" *is* the secret: an
attacker who reads it from a CI log, a SARIF upload or `keydrift fingerprint` signs tokens with it.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from keydrift.errors import WeakSecretError
from keydrift.resolve import resolve
from keydrift.strength import (
    check_strength,
    known_weak_entries,
    known_weak_index,
    known_weak_match,
    placeholder_reason,
)
from keydrift.values import ValueKind, value_kind

from .util import cli, write_tree

CATEGORY = "in a public list of known JWT secrets"


def _listed() -> tuple[str, int]:
    """A listed secret that a .env file holds as it is, far enough down the list that its
    line number (five digits) cannot appear in a report by chance."""
    for offset, entry in enumerate(known_weak_entries()[20_000:]):
        text = entry.decode("latin-1")
        if (re.fullmatch(r"[A-Za-z0-9]{8,20}", text) and not placeholder_reason(text)
                and value_kind(text, "JWT_SECRET") is ValueKind.SECRET):
            index = known_weak_index(entry)
            assert index == 20_001 + offset
            return entry.decode(), index
    raise AssertionError("no suitable entry in the list")


def _no_index(text: str, index: int) -> None:
    assert not re.search(rf"(?<![0-9]){index}(?![0-9])", text), "list entry index leaked"


def test_security_known_weak_strength_message_names_no_entry() -> None:
    value, index = _listed()
    report = check_strength(value)
    assert report.has("known_weak")
    assert CATEGORY in report.summary()
    assert known_weak_match(value) == CATEGORY
    _no_index(report.summary() + repr(report), index)


def test_security_known_weak_resolve_names_no_entry(caplog: pytest.LogCaptureFixture) -> None:
    value, index = _listed()
    caplog.set_level(logging.DEBUG)
    got = resolve(environment="development", env={"JWT_SECRET": value})
    assert any(CATEGORY in w for w in got.warnings)
    with pytest.raises(WeakSecretError) as refused:
        resolve(environment="production", env={"JWT_SECRET": value})
    texts = [*got.warnings, repr(got), str(refused.value), repr(refused.value),
             *(r.getMessage() for r in caplog.records)]
    assert any(CATEGORY in r.getMessage() for r in caplog.records)  # the warning was logged
    for text in texts:
        _no_index(text, index)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_security_known_weak_check_reports_name_no_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     fmt: str) -> None:
    value, index = _listed()
    write_tree(tmp_path, {"production.env": f"JWT_SECRET={value}\n"})
    code, out, err = cli(capsys, "check", str(tmp_path), "--format", fmt, "--fail-on", "never")
    assert code == 0
    assert "in a public list of known" in out  # KD302 says why it is weak ...
    _no_index(out + err, index)  # ... but not where in the list
    if fmt != "text":
        json.loads(out)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_security_known_weak_fingerprint_names_no_entry(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    value, index = _listed()
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("JWT_SECRET", value)
    code, out, err = cli(capsys, "fingerprint", "--format", fmt)
    assert code == 0
    if fmt == "text":
        assert CATEGORY in out
    _no_index(out + err, index)
