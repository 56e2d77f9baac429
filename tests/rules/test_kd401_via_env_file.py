"""A secret in a tracked env file read through compose `env_file` is KD402's, not also KD401's."""

from __future__ import annotations

import secrets
from pathlib import Path

from keydrift.check import build_model
from keydrift.rules.interface import run_rules
from tests.rules.test_rule_assets import git_repo


def test_env_file_secret_reported_once_as_tracked_env_file(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "staging.env").write_text(f"JWT_SECRET_STAGING={secrets.token_urlsafe(40)}\n")
    (src / "docker-compose.yml").write_text(
        "services:\n  api:\n    image: acme/api\n    env_file: staging.env\n"
        "  auth:\n    image: acme/auth\n    env_file: staging.env\n"
    )
    repo = git_repo(src, tmp_path / "repo")
    rules = sorted(f.rule for f in run_rules(build_model([str(repo)])))
    assert rules == ["KD402"]


def test_literal_in_tracked_compose_file_is_kd401(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "docker-compose.yml").write_text(
        "services:\n  api:\n    image: acme/api\n    environment:\n"
        f"      JWT_SECRET: {secrets.token_urlsafe(40)}\n"
    )
    repo = git_repo(src, tmp_path / "repo")
    assert "KD401" in {f.rule for f in run_rules(build_model([str(repo)]))}
