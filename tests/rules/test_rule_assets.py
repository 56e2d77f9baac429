"""Every rule on its failing-then-passing fixture pair, through build_model and the rule alone.

Fixtures live in tests/assets/rules/KDxxx/{bad,good}. KD401 and KD402 need git: the fixture is
copied into a fresh repository and committed (the good KD402 repository ignores its .env).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from keydrift.check import build_model
from keydrift.rules.interface import Finding, all_rules, rule_by_id, run_rules
from tests.conftest import untracked_copy

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "rules"
RULE_IDS = [r.id for r in all_rules()]
GIT_RULES = {"KD401", "KD402"}


def git_repo(src: Path, dest: Path, *, ignore: tuple[str, ...] = ()) -> Path:
    """A real git repository holding a copy of ``src`` with everything committed."""
    shutil.copytree(src, dest)
    if ignore:
        (dest / ".gitignore").write_text("".join(f"{p}\n" for p in ignore))
    env_args = ["-c", "user.email=kd@example.invalid", "-c", "user.name=keydrift tests",
                "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]
    subprocess.run(["git", *env_args, "init", "-q", str(dest)], check=True)
    subprocess.run(["git", *env_args, "-C", str(dest), "add", "-A"], check=True)
    subprocess.run(["git", *env_args, "-C", str(dest), "commit", "-qm", "fixture"], check=True)
    return dest


def fixture(rule_id: str, kind: str, tmp_path: Path) -> Path:
    src = ASSETS / rule_id / kind
    if rule_id not in GIT_RULES:
        return untracked_copy(src, tmp_path)
    ignore = (".env",) if (rule_id, kind) == ("KD402", "good") else ()
    return git_repo(src, tmp_path / f"{rule_id}-{kind}", ignore=ignore)


def check(rule_id: str, path: Path) -> list[Finding]:
    rule = rule_by_id(rule_id)
    assert rule is not None
    return list(rule.check(build_model([str(path)])))


def test_every_rule_has_a_fixture_pair() -> None:
    for rule_id in RULE_IDS:
        assert (ASSETS / rule_id / "bad").is_dir(), rule_id
        assert (ASSETS / rule_id / "good").is_dir(), rule_id


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_bad_fixture_fires(rule_id: str, tmp_path: Path) -> None:
    found = check(rule_id, fixture(rule_id, "bad", tmp_path))
    assert found, f"{rule_id} found nothing in its bad fixture"
    for f in found:
        assert f.rule == rule_id and f.message and f.fix and f.runtime_effect
        assert f.locations, "a finding must say where"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_good_fixture_is_quiet_for_every_rule(rule_id: str, tmp_path: Path) -> None:
    path = fixture(rule_id, "good", tmp_path)
    assert check(rule_id, path) == []
    # The fixed version of each fixture is clean as a whole, not just for its own rule.
    assert [f.rule for f in run_rules(build_model([str(path)]))] == []


def test_bad_kd401_and_kd402_fixtures_are_quiet_outside_git(tmp_path: Path) -> None:
    # Not a repository: nothing is tracked, so nothing is "committed".
    assert check("KD401", untracked_copy(ASSETS / "KD401" / "bad", tmp_path / "a")) == []
    assert check("KD402", untracked_copy(ASSETS / "KD402" / "bad", tmp_path / "b")) == []


def test_incident_findings_name_the_right_places() -> None:
    (f,) = check("KD202", ASSETS / "KD202" / "bad")
    assert [loc.path for loc in f.locations] == ["staging.env", "deploy/deploy_staging.sh"]
    assert f.environment == "staging" and len(f.fingerprints) == 2
    (f,) = check("KD102", ASSETS / "KD102" / "bad")
    assert f.services == ("webui",) and "Open WebUI" in f.runtime_effect


def test_kd401_covers_code_scripts_and_kubernetes_secrets(tmp_path: Path) -> None:
    found = check("KD401", fixture("KD401", "bad", tmp_path))
    assert sorted(loc.path for f in found for loc in f.locations) == [
        "app/settings.py", "deploy/release.sh", "k8s/secret.yaml"
    ]
    (k8s,) = [f for f in found if f.locations[0].path == "k8s/secret.yaml"]
    assert k8s.environment == "production"
