"""``keydrift check --matrix``: the drift grid as text on stderr, names escaped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from keydrift.model.findings import Finding
from keydrift.model.result import CheckResult, GridCell, Marker, SecretGroup
from keydrift.report.matrix import render_matrix

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _check(target: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keydrift", "check", str(target), *extra],
                          capture_output=True, text=True, timeout=120)


def test_matrix_on_stderr_with_letters_and_markers() -> None:
    proc = _check(EXAMPLES / "incident-staging-placeholder", "--matrix", "--format", "json")
    assert proc.returncode == 1
    assert proc.stdout.lstrip().startswith("{")  # stdout stays the report
    lines = proc.stderr.splitlines()
    assert "jwt in compose:docker-compose.yml" in lines
    row = next(line for line in lines if line.strip().startswith("staging") and "|" in line)
    assert [c.strip() for c in row.split("|")][1:] == ["A 5kxp5wE4AcL6 !", "A 5kxp5wE4AcL6 !"]
    script = lines[lines.index("jwt in script:deploy/deploy_staging.py") + 3]
    assert script.split("|")[1].strip() == "B placeholder !"  # a placeholder is guessable: no fingerprint
    assert lines[-1].startswith("keydrift check: 3 errors [KD202, KD301, KD402]")


def test_without_matrix_stderr_is_the_summary_line() -> None:
    proc = _check(EXAMPLES / "incident-replicas")
    assert proc.stderr.splitlines() == ["keydrift check: 1 error [KD102] (1 file checked)"]


def test_matrix_escapes_control_characters() -> None:
    cell = GridCell(service="a\x1b[31mb", environment="prod\nuction", marker=Marker.MISSING,
                    key=None, label=None, variable=None)
    group = SecretGroup(unit="u\x07", label="jwt", kind="spec", environments=("prod\nuction",),
                        services=("a\x1b[31mb",), cells=(cell,))
    text = render_matrix(CheckResult(root="/r", findings=list[Finding](), rules=[],
                                     groups=[group]))
    assert "\x1b" not in text and "\x07" not in text
    assert "a\\x1b[31mb" in text and "prod\\nuction | missing" in text
