"""Item 9: names from the checked tree cannot forge report lines or CI workflow commands.

A file named ``.env.\\e]0;PWNED\\a\\nerror KD999 fake-finding\\n::error::injected`` produced fake
report lines and GitHub Actions workflow commands. Every string rendered in the text report
(stdout and ``-o`` files) and in error lines is escaped now; JSON and SARIF escape through the
encoder and are checked here too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from keydrift._format import printable, safe_line
from keydrift.model.findings import Finding, Severity
from keydrift.model.types import Location, Skipped, Step
from keydrift.report.interface import CheckResult, render
from keydrift.rules.interface import all_rules

from .util import cli, keydrift, write_tree

HOSTILE = ".env.\x1b]0;PWNED\x07\nerror KD999 fake-finding\n::error::injected"
# Whatever a CI runner or terminal acts on: escapes, bells, line breaks, bidi overrides.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _assert_safe(output: str) -> None:
    assert not CONTROL.search(output), repr(CONTROL.search(output))
    for line in output.splitlines():
        stripped = line.lstrip()
        assert not stripped.startswith(("::", "##")), line  # GitHub / Azure workflow commands
        assert not stripped.startswith("error KD999"), line  # a forged finding line


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Path:
    tree = write_tree(tmp_path / "repo", {
        HOSTILE: "JWT_SECRET=short\n",
        "::error::dir/staging.env": "JWT_SECRET=also-short\n",
        "##[error]x/production.env": "JWT_SECRET=tiny\n",
        "docker-compose.yml": 'services:\n  "::warning::svc\\nerror KD998 x":\n    image: a\n'
                              '    environment:\n      JWT_SECRET: "abc"\n',
    })
    return tree


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_security_hostile_names_cannot_forge_lines(
    hostile_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    code, out, err = cli(capsys, "check", str(hostile_tree), "--format", fmt, "--fail-on", "never")
    assert code == 0
    assert "KD302" in out  # the hostile files were read and reported ...
    _assert_safe(out)  # ... without their names acting on the terminal or the CI log
    _assert_safe(err)
    target = tmp_path / f"report.{fmt}"
    code, out, err = cli(capsys, "check", str(hostile_tree), "--format", fmt, "--fail-on", "never",
                         "-o", str(target))
    assert code == 0
    written = target.read_text(encoding="utf-8")
    _assert_safe(written)
    if fmt == "text":
        assert "\\x1b]0;PWNED\\x07\\nerror KD999" in written  # visible, not acted on
    elif fmt == "json":
        doc = json.loads(written)  # JSON keeps the real name for machines
        assert HOSTILE in {loc["path"] for f in doc["findings"] for loc in f["locations"]}
    else:
        json.loads(written)


def test_security_text_report_escapes_every_field() -> None:
    bad = "x\x1b[31m\r\n::error::f\u202eevil\u2028y\t"
    finding = Finding(
        rule="KD201", severity=Severity.ERROR, environments=(f"staging{bad}", f"::error::{bad}"),
        services=(f"svc{bad}", f"::error::{bad}"),
        locations=(Location(f"::error::{bad}", 3), Location(f"##[error]{bad}", 4),
                   Location(f"  ::notice::{bad}", 5)),
        message=f"::error::msg{bad}", runtime_effect=f"##vso[task]{bad}", fix=f"::fix::{bad}",
        fingerprints=("abcdefghijkl",), variable=f"V{bad}",
        steps=(Step(Location(f"::error::{bad}", 1), f"note{bad}"),),
    )
    result = CheckResult(root="/r", findings=[finding], rules=[r.info for r in all_rules()],
                         skipped=[Skipped(Location(f"::error::{bad}"), f"reason{bad}")],
                         files_checked=1, environments=[f"::error::{bad}"])
    for color in (False, True):
        text = render(result, "text", color=color)
        if color:
            text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # our own styling is the only escape
        _assert_safe(text)
        assert "\\u202e" in text and "\\r\\n" in text


def test_security_error_lines_escape_file_names(tmp_path: Path) -> None:
    # A file named on the command line that cannot be checked: its name is in the error.
    bad = tmp_path / "x\x1b]0;PWNED\x07\n::error::named.env"
    bad.write_bytes(b"JWT_SECRET=\xff\xfe\n")
    proc = keydrift("check", str(bad))
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "invalid UTF-8" in err
    _assert_safe(err)


def test_printable_and_safe_line() -> None:
    assert printable("plain/path.env") == "plain/path.env"
    assert printable("a\nb\x1b\u202e\x07") == "a\\nb\\x1b\\u202e\\x07"
    assert safe_line("  ::error::x") == "  \\x3a:error::x"
    assert safe_line("##[error]x") == "\\x23#[error]x"
    assert safe_line("  at: ::error::x") == "  at: ::error::x"
