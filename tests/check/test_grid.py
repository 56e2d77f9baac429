"""The drift grid the pipeline computes: letters per distinct value, markers, provenance, the
findings attached to each cell, and never a fingerprint of a weak value."""

from __future__ import annotations

import secrets
from pathlib import Path

from keydrift import run_check
from keydrift.keys import short
from keydrift.model.result import Marker, SecretGroup
from keydrift.secret import SecretValue

from .deploykit import tree

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _group(groups: list[SecretGroup], unit_prefix: str, label: str) -> SecretGroup:
    [g] = [g for g in groups if g.unit.startswith(unit_prefix) and g.label == label]
    return g


def test_staging_placeholder_incident_shows_two_keys() -> None:
    result = run_check([str(EXAMPLES / "incident-staging-placeholder")])
    compose = _group(result.groups, "compose:", "jwt")
    script = _group(result.groups, "script:", "jwt")
    auth, backend = (compose.rows()[0][1][0], compose.rows()[0][1][1])
    assert auth is not None and backend is not None
    assert (auth.service, backend.service) == ("auth", "backend")
    assert auth.key == backend.key == "A" and auth.label == backend.label
    assert auth.marker is Marker.OK
    [(env, [deployed])] = script.rows()
    assert env == "staging" and deployed is not None
    assert deployed.key == "B" and deployed.marker is Marker.PLACEHOLDER
    assert deployed.label != auth.label
    # The cell's provenance reaches the literal line; its findings are the ones about it.
    assert [str(s.location) for s in deployed.steps][-1] == "deploy/deploy_staging.py:17"
    rules = {f.finding_id: f.rule for f in result.findings}
    assert {rules[i] for i in deployed.findings} == {"KD202", "KD301"}
    assert [str(s.location) for s in auth.steps] == ["docker-compose.yml:13", "staging.env:3"]


def test_replicas_incident_is_generated_per_process() -> None:
    result = run_check([str(EXAMPLES / "incident-replicas")])
    [g] = result.groups
    [(env, [cell])] = g.rows()
    assert env is None and cell is not None
    assert cell.marker is Marker.GENERATED and cell.key is None and cell.label is None
    assert cell.processes == 3
    assert [result.findings[0].finding_id] == list(cell.findings)
    assert result.findings[0].rule == "KD102"


def test_weak_values_get_a_letter_but_no_fingerprint(tmp_path: Path) -> None:
    strong = secrets.token_urlsafe(40)
    compose = (
        "services:\n"
        "  api:\n    image: acme/api\n    environment:\n      JWT_SECRET: changeme\n"
        "  auth:\n    image: acme/auth\n    environment:\n      JWT_SECRET: changeme\n"
        f"  web:\n    image: acme/web\n    environment:\n      JWT_SECRET: {strong}\n"
        "  worker:\n    image: acme/worker\n"
        "    environment:\n      JWT_SECRET: ${JWT_SECRET}\n"
    )
    root = tree(tmp_path / "r", {"docker-compose.yml": compose}, tracked=False)
    result = run_check([str(root)])
    [g] = [g for g in result.groups if g.kind == "spec"]
    cells = {c.service: c for c in g.cells}
    assert cells["api"].key == cells["auth"].key != cells["web"].key
    assert cells["api"].label is None and cells["api"].marker in (Marker.WEAK, Marker.PLACEHOLDER)
    assert cells["web"].marker is Marker.OK
    assert cells["web"].label == short(SecretValue(strong).fingerprint)
    assert cells["worker"].marker in (Marker.MISSING, Marker.UNRESOLVED)
    assert cells["worker"].key is None and cells["worker"].label is None
    assert set(g.keys) == {cells["api"].key, cells["web"].key}


def test_missing_without_a_generating_app_is_missing(tmp_path: Path) -> None:
    compose = ("services:\n  api:\n    image: acme/api\n    environment:\n"
               f"      JWT_SECRET: {secrets.token_urlsafe(40)}\n"
               "  auth:\n    image: acme/auth\n    environment:\n      JWT_SECRET: ${JWT_SECRET}\n")
    root = tree(tmp_path / "r", {"docker-compose.yml": compose}, tracked=False)
    result = run_check([str(root)])
    cells = {c.service: c for g in result.groups for c in g.cells}
    assert cells["api"].marker is Marker.OK and cells["api"].key == "A"
    assert cells["auth"].marker is Marker.MISSING
    rules = {f.finding_id: f.rule for f in result.findings}
    # Without a preset the rules assume each process defaults its own key (KD102), while the
    # grid says only what the files say: nothing is set.
    assert {rules[i] for i in cells["auth"].findings} & {"KD101", "KD102"}
    assert not cells["api"].findings or all(rules[i] != "KD101" for i in cells["api"].findings)


def test_origin_group_for_names_no_spec_covers(tmp_path: Path) -> None:
    compose = ("services:\n"
               "  db:\n    image: acme/db\n    environment:\n      DB_SIGNING_KEY: ${SHARED_KEY}\n"
               "  rest:\n    image: acme/rest\n    environment:\n      REST_SIGNING_KEY: ${SHARED_KEY}\n")
    env = f"SHARED_KEY={secrets.token_urlsafe(40)}\n"
    root = tree(tmp_path / "r", {"docker-compose.yml": compose, ".env": env}, tracked=False)
    result = run_check([str(root)])
    origin = [g for g in result.groups if g.kind == "origin"]
    assert [g.label for g in origin] == ["${SHARED_KEY}"]
    assert {c.service: c.key for c in origin[0].cells} == {"db": "A", "rest": "A"}


def test_findings_about_other_variables_stay_off_the_cell(tmp_path: Path) -> None:
    strong = secrets.token_urlsafe(40)
    compose = ("services:\n  api:\n    image: acme/api\n    environment:\n"
               f"      JWT_SECRET: {strong}\n"
               f"      DATABASE_PASSWORD: {secrets.token_urlsafe(40)}\n"
               "      SESSION_SECRET: your-session-secret-here\n")
    root = tree(tmp_path / "r", {"docker-compose.yml": compose})  # tracked: KD401 for both
    result = run_check([str(root)])
    by_id = {f.finding_id: f for f in result.findings}
    assert {f.variable for f in result.findings} >= {"JWT_SECRET", "DATABASE_PASSWORD",
                                                     "SESSION_SECRET"}
    [cell] = [c for g in result.groups if g.label == "jwt" for c in g.cells]
    assert [by_id[i].variable for i in cell.findings] == ["JWT_SECRET"]
