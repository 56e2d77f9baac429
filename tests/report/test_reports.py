"""Text, JSON and SARIF reports over the findings of every bad fixture."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from keydrift.check import build_model
from keydrift.model.findings import Finding, Severity
from keydrift.model.result import CheckResult
from keydrift.model.types import Location, Skipped
from keydrift.report.interface import render
from keydrift.rules.interface import all_rules, run_rules

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "tests" / "assets"
SARIF_SCHEMA = json.loads((ASSETS / "sarif" / "sarif-schema-2.1.0.json").read_text())
JSON_SCHEMA = json.loads((ROOT / "docs" / "schema" / "check-output-v1.json").read_text())


def all_findings() -> list[Finding]:
    out: list[Finding] = []
    for bad in sorted((ASSETS / "rules").glob("KD*/bad")):
        out.extend(run_rules(build_model([str(bad)])))
    return out


@pytest.fixture(scope="module")
def result() -> CheckResult:
    findings = all_findings()
    return CheckResult(
        root=str(ASSETS / "rules"),
        findings=findings,
        rules=[r.info for r in all_rules()],
        skipped=[Skipped(Location("blob.bin"), "binary file")],
        files_checked=40,
        environments=["production", "staging"],
        baselined=2,
    )


def test_fixtures_cover_most_rules(result: CheckResult) -> None:
    # KD401/KD402 need git; the CLI tests cover them. Everything else reaches the reports here.
    assert {f.rule for f in result.findings} >= {r.id for r in all_rules()} - {"KD401", "KD402"}


def test_json_validates_against_the_published_schema(result: CheckResult) -> None:
    doc = json.loads(render(result, "json"))
    jsonschema.Draft202012Validator.check_schema(JSON_SCHEMA)
    jsonschema.Draft202012Validator(JSON_SCHEMA).validate(doc)
    assert doc["schema_version"] == 1
    assert doc["summary"]["findings"] == len(result.findings)
    assert doc["summary"]["baselined"] == 2
    assert doc["skipped"] == [{"path": "blob.bin", "line": None, "reason": "binary file"}]
    first = doc["findings"][0]
    assert {"rule", "severity", "environment", "services", "locations"} <= set(first)


def test_json_schema_rejects_a_broken_document(result: CheckResult) -> None:
    doc = json.loads(render(result, "json"))
    doc["findings"][0]["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(JSON_SCHEMA).validate(doc)


def test_sarif_validates_against_the_official_schema(result: CheckResult) -> None:
    doc = json.loads(render(result, "sarif"))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.id for r in all_rules()]
    for r in rules:
        assert r["helpUri"].endswith(f"docs/rules/{r['id']}.md")
        assert r["shortDescription"]["text"] and r["name"]
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert re.fullmatch(r"[0-9a-f]{20}", res["partialFingerprints"]["keydriftFindingId/v1"])
        assert res["level"] in ("error", "warning", "note")
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"] == "skipped: binary file"


def test_sarif_schema_check_can_fail(result: CheckResult) -> None:
    doc = json.loads(render(result, "sarif"))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)


def test_text_groups_by_environment_and_shows_everything(result: CheckResult) -> None:
    text = render(result, "text")
    headers = re.findall(r"^== (.+) ==$", text, flags=re.MULTILINE)
    assert headers == sorted(set(headers), key=lambda h: "" if h == "any environment" else h)
    assert "staging" in headers and "production" in headers
    for f in result.findings:
        assert f.finding_id in text
    assert "at run time:" in text and "fix:" in text and "fingerprints:" in text
    assert "provenance:" in text
    assert "Skipped (1):" in text and "blob.bin: binary file" in text
    assert "\x1b[" not in text


def test_text_colour_only_when_asked(result: CheckResult) -> None:
    coloured = render(result, "text", color=True)
    assert "\x1b[" in coloured
    plain = re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    assert plain == render(result, "text")


def test_summary_line_counts() -> None:
    f = Finding("KD302", Severity.WARNING, ("dev",), (), (Location("a.env", 1),), "m", "e", "x")
    infos = [r.info for r in all_rules()]
    r = CheckResult(root=".", findings=[f, f.with_severity(Severity.ERROR)], rules=infos,
                    files_checked=1)
    assert r.summary_line() == "keydrift check: 1 error, 1 warning [KD302 x2] (1 file checked)"
    empty = CheckResult(root=".", findings=[], rules=infos, files_checked=3, baselined=1)
    assert empty.summary_line() == "keydrift check: no findings (3 files checked, 1 in baseline)"


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render(CheckResult(root=".", findings=[], rules=[]), "xml")
