"""Secrets that are not signing keys (storage keys, passwords) are named with every consumer and
described as credentials, not as token-signing keys."""

from __future__ import annotations

from pathlib import Path

from keydrift.check import build_model
from keydrift.rules.interface import run_rules

COMPOSE = """\
x-shared: &shared
  STORAGE_SECRET_KEY: ${STORAGE_SECRET_KEY:-your-secret-key}
  JWT_SECRET: ${JWT_SECRET:-your-jwt-secret-goes-here}
services:
  api:
    image: acme/api
    environment:
      <<: *shared
  worker:
    image: acme/worker
    environment:
      <<: *shared
"""


def test_placeholder_findings_name_every_consumer_and_fit_the_secret(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    found = {f.variable: f for f in run_rules(build_model([str(tmp_path)])) if f.rule == "KD301"}
    assert set(found) == {"STORAGE_SECRET_KEY", "JWT_SECRET"}
    assert found["STORAGE_SECRET_KEY"].services == ("api", "worker")
    assert found["JWT_SECRET"].services == ("api", "worker")
    assert "tokens" not in found["STORAGE_SECRET_KEY"].runtime_effect
    assert "forge tokens" in found["JWT_SECRET"].runtime_effect
