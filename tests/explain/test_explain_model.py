"""Candidates and per-service answers from a real repository tree through ``check``'s model."""

from __future__ import annotations

from pathlib import Path

import pytest

from keydrift.check import build_model
from keydrift.explain import from_model
from keydrift.model import (
    Assignment,
    Config,
    Effective,
    Location,
    Model,
    Service,
)
from keydrift.secret import SecretValue
from keydrift.spec import DEFAULT_JWT_SPEC
from tests.explain.explain_helpers import OTHER, STRONG, run, sign

COMPOSE = """\
services:
  api:
    image: example/api
    env_file: .env.staging
  worker:
    image: example/worker
    environment:
      JWT_SECRET_STAGING: "{value}"
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".env.staging").write_text(f'JWT_SECRET_STAGING="{STRONG}"\n')
    (tmp_path / ".env.production").write_text(f"JWT_SECRET_PRODUCTION={OTHER}\n")
    (tmp_path / "docker-compose.yml").write_text(COMPOSE.format(value=STRONG + "\\n"))
    return tmp_path


def test_repo_candidates_keep_their_provenance(repo: Path) -> None:
    candidates = from_model(build_model([str(repo)]))
    where = {(c.variable, c.path, c.line, c.environment, c.service) for c in candidates}
    assert ("JWT_SECRET_STAGING", ".env.staging", 1, "staging", None) in where
    assert ("JWT_SECRET_PRODUCTION", ".env.production", 1, "production", None) in where
    assert any(c.service == "worker" and c.path == "docker-compose.yml" for c in candidates)


def test_services_per_environment(repo: Path) -> None:
    model = build_model([str(repo)])
    e = run(sign(STRONG), *from_model(model), model=model)
    assert e.services is not None
    views = {(s.service, s.environment): s for s in e.services}
    assert views[("api", "staging")].accepts is True
    worker = views[("worker", "staging")]
    assert (worker.accepts, worker.reason) == (False, "signature")
    assert e.verdict.status == "verified"


def test_docker_env_file_keeps_the_quotes(repo: Path) -> None:
    model = build_model([str(repo)])
    e = run(sign(f'"{STRONG}"'), *from_model(model, "staging"), model=model)
    v = e.verdict
    assert (v.status, v.reason, v.variant) == ("rejected", "signature", "quotes_kept")
    assert v.source is not None
    assert (v.source.variable, v.source.path, v.source.line) == (
        "JWT_SECRET_STAGING", ".env.staging", 1)
    assert v.match is not None and v.match.variant.via in ("docker-run-env-file",
                                                           "kubectl-from-env-file")
    assert e.services is not None and not any(s.accepts for s in e.services)


def test_environment_marks_the_expected_secret(repo: Path) -> None:
    model = build_model([str(repo)])
    e = run(sign(OTHER), *from_model(model, "staging"), model=model)
    v = e.verdict
    assert (v.status, v.reason, v.variant) == ("rejected", "signature", "exact")
    assert v.source is not None and v.source.variable == "JWT_SECRET_PRODUCTION"
    assert "production secret where staging is expected" in v.summary


def _model_with(current: str, previous: str | None) -> Model:
    def assign(variable: str, value: str, line: int) -> Assignment:
        return Assignment(variable=variable, value=SecretValue(value),
                          location=Location("compose.yml", line), source="compose",
                          environment="staging", service="api")

    env = {"JWT_SECRET_STAGING": assign("JWT_SECRET_STAGING", current, 7)}
    if previous is not None:
        env["JWT_SECRET_PREVIOUS"] = assign("JWT_SECRET_PREVIOUS", previous, 8)
    service = Service(name="api", platform="compose", environment="staging",
                      location=Location("compose.yml", 2), env=env)
    effective = Effective(service=service, environment="staging", spec=DEFAULT_JWT_SPEC,
                          variable="JWT_SECRET_STAGING", assignment=env["JWT_SECRET_STAGING"])
    return Model(root=".", environments=["staging"], production_like=frozenset(),
                 specs=[DEFAULT_JWT_SPEC], services=[service], assignments=list(env.values()),
                 effective=[effective], skipped=[], files=["compose.yml"], config=Config())


def test_service_accepts_with_its_previous_key_during_rotation() -> None:
    model = _model_with(STRONG, OTHER)
    e = run(sign(OTHER), *from_model(model), model=model)
    assert e.services is not None
    [view] = e.services
    assert (view.accepts, view.variable) == (True, "JWT_SECRET_STAGING")
    assert "previous key JWT_SECRET_PREVIOUS" in view.detail
    without = _model_with(STRONG, None)
    e = run(sign(OTHER), *from_model(without), model=without)
    assert e.services is not None and e.services[0].accepts is False


def test_service_holding_a_weak_secret_accepts_and_is_flagged() -> None:
    model = _model_with("secret", None)
    e = run(sign("secret"), *from_model(model), model=model)
    assert e.verdict.reason == "weak_secret"
    assert e.services is not None
    [view] = e.services
    assert view.accepts is True and "publicly known weak secret" in view.detail


def test_expired_token_is_rejected_by_the_service_that_holds_its_key() -> None:
    model = _model_with(STRONG, None)
    e = run(sign(STRONG, {"exp": 1}), *from_model(model), model=model)
    assert e.services is not None
    assert (e.services[0].accepts, e.services[0].reason) == (False, "expired")


def test_token_verified_only_by_a_key_no_service_uses_is_rejected(tmp_path: Path) -> None:
    # A stray candidate (a mounted secret file no service reads as its JWT secret) verifies the
    # token, but every service in the repository holds another key: the answer is "rejected".
    (tmp_path / ".env").write_text(f"JWT_SECRET={STRONG}\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "jwt.txt").write_text(OTHER)
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  api:\n    image: example/api\n    env_file: .env\n"
        "    secrets: [jwt]\nsecrets:\n  jwt:\n    file: ./secrets/jwt.txt\n"
    )
    model = build_model([str(tmp_path)])
    e = run(sign(OTHER), *from_model(model), model=model)
    assert e.services and not any(s.accepts for s in e.services)
    assert (e.verdict.status, e.verdict.reason, e.verdict.exit_code) == ("rejected", "signature", 1)
    assert "no service verifies with" in e.verdict.summary
    # The same token signed with the key the service holds verifies.
    ok = run(sign(STRONG), *from_model(model), model=model)
    assert ok.verdict.status == "verified"
