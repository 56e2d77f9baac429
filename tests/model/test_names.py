"""Secret-like names and environment inference."""

from __future__ import annotations

import pytest

from keydrift.model.names import NameClassifier, is_secret_variable
from keydrift.sources._support.envinfer import (
    environment_from_name,
    environment_from_path,
    environment_from_variable,
)


@pytest.mark.parametrize(
    "name",
    ["JWT_SECRET", "JWT_SECRET_STAGING", "secretKey", "jwt_secret_value", "SECRET_KEY",
     "LANGFLOW_SECRET_KEY", "N8N_ENCRYPTION_KEY", "API_TOKEN", "DB_PASSWORD",
     "AIRFLOW__WEBSERVER__SECRET_KEY", "jwt-secret", "SIGNING_KEY"],
)
def test_secret_like(name: str) -> None:
    assert is_secret_variable(name)


@pytest.mark.parametrize(
    "name",
    ["PUBLIC_KEY_ID", "MONKEY", "JWT_ALGORITHM", "TOKENIZER_PATH", "JWT_SECRET_FILE",
     "jwt_expire_minutes", "LOG_LEVEL", "API_KEY_HEADER", "TOKEN_URL", ""],
)
def test_not_secret_like(name: str) -> None:
    assert not is_secret_variable(name)


def test_file_variables() -> None:
    assert NameClassifier().is_secret_file("JWT_SECRET_FILE")
    assert not NameClassifier().is_secret_file("LOG_FILE")


@pytest.mark.parametrize(
    ("path", "env"),
    [
        (".env.staging", "staging"),
        ("staging.env", "staging"),
        ("deploy/.env.prod", "production"),
        ("docker-compose.prod.yml", "production"),
        ("docker-compose-stg.yaml", "staging"),
        ("k8s/overlays/production/secret.yaml", "production"),
        ("k8s/staging/deploy.yaml", "staging"),
        ("deploy/deploy_staging.py", "staging"),
        ("tests/test_app.py", None),  # a tests/ directory is not the "test" environment
        (".env", None),
        (".env.example", None),
        ("docker-compose.override.yml", None),
    ],
)
def test_environment_from_path(path: str, env: str | None) -> None:
    assert environment_from_path(path) == env


def test_config_mapping_wins_and_extra_names() -> None:
    assert environment_from_path("deploy/x.sh", {"deploy/*.sh": "prod"}) == "production"
    assert environment_from_path("eu-blue/.env", extra=["eu-blue"]) == "eu-blue"
    assert environment_from_name("myapp-staging") == "staging"
    assert environment_from_name("default") is None


def test_environment_from_variable() -> None:
    assert environment_from_variable("JWT_SECRET_STAGING") == "staging"
    assert environment_from_variable("JWT_SECRET_PROD") == "production"
    assert environment_from_variable("JWT_SECRET_KEY") is None


def test_test_code_is_recognised() -> None:
    from keydrift.sources._support.envinfer import is_test_code

    assert is_test_code("tests/runtime/test_asgi.py")
    assert is_test_code("app/conftest.py") and is_test_code("pkg/auth_test.py")
    assert not is_test_code("deploy/deploy_staging.py")
    assert not is_test_code("tests/.env")  # env files under tests/ are still env files


def test_kind_of_equals_asking_every_spec() -> None:
    """``kind_of`` answers most names with one combined match; it must name the same kind as
    trying each spec in order, for spec names, their environment forms and everything else."""
    import random

    from keydrift.model.names import kind_of_name
    from keydrift.presets.interface import all_presets
    from keydrift.spec import DEFAULT_JWT_SPEC, SecretKind, SecretSpec

    custom = SecretSpec(name="billing", variables=("BILLING_HMAC_{ENV}", "BILLING_HMAC"),
                        kind=SecretKind.ENCRYPTION_KEY)
    names = NameClassifier([custom, *(s for p in all_presets() for s in p.specs)])
    rng = random.Random(12)
    words = ["JWT", "SECRET", "KEY", "TOKEN", "API", "PASSWORD", "STAGING", "PROD", "DB",
             "SESSION", "BILLING", "HMAC", "N8N", "ENCRYPTION", "FILE", "x", "_", "-"]
    candidates = [t.replace("{ENV}", env) for s in names.specs
                  for t in (*s.variables, *s.previous_variables)
                  for env in ("STAGING", "PROD", "dev", "")]
    candidates += ["_".join(rng.choices(words, k=rng.randint(1, 4))) for _ in range(3000)]

    def slow(name: str) -> SecretKind:
        for spec in names.specs[1:]:
            if spec.matches_variable(name):
                return spec.kind
        if DEFAULT_JWT_SPEC.matches_variable(name):
            return DEFAULT_JWT_SPEC.kind
        return kind_of_name(name)

    matched = 0
    for name in candidates:
        assert names.kind_of(name) is slow(name), name
        matched += any(spec.matches_variable(name) for spec in names.specs)
    assert matched >= 100  # both branches are exercised
