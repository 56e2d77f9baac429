from __future__ import annotations

import pytest

from keydrift.errors import UsageError
from keydrift.spec import DEFAULT_JWT_SPEC, SecretSpec, env_suffix, normalize_environment


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ("development", ("JWT_SECRET_DEVELOPMENT", "JWT_SECRET_KEY", "JWT_SECRET")),
        ("staging", ("JWT_SECRET_STAGING", "JWT_SECRET_KEY", "JWT_SECRET")),
        ("production", ("JWT_SECRET_PRODUCTION", "JWT_SECRET_KEY", "JWT_SECRET")),
        ("pre-prod", ("JWT_SECRET_PRE_PROD", "JWT_SECRET_KEY", "JWT_SECRET")),
        (None, ("JWT_SECRET_KEY", "JWT_SECRET")),
    ],
)
def test_default_priority_order(environment: str | None, expected: tuple[str, ...]) -> None:
    assert DEFAULT_JWT_SPEC.variables_for(environment) == expected


def test_production_like_defaults() -> None:
    for env in ("production", "prod", "staging", "stage", "live", "PRODUCTION"):
        assert DEFAULT_JWT_SPEC.is_production_like(env), env
    for env in ("development", "dev", "test", "local", None):
        assert not DEFAULT_JWT_SPEC.is_production_like(env), env


def test_custom_spec_and_validation() -> None:
    spec = SecretSpec(name="api", variables=("API_{ENV}_KEY", "API_KEY"), algorithm="HS512")
    assert spec.variables_for("qa") == ("API_QA_KEY", "API_KEY")
    assert spec.required_bytes == 64
    assert spec.matches_variable("API_STAGING_KEY")
    assert not spec.matches_variable("OTHER")
    with pytest.raises(UsageError):
        SecretSpec(algorithm="HS1")
    with pytest.raises(UsageError):
        SecretSpec(variables=("BAD NAME",))
    with pytest.raises(UsageError):
        SecretSpec.validate_environment("../etc")


def test_environment_helpers() -> None:
    assert normalize_environment("Prod") == "production"
    assert normalize_environment("stage") == "staging"
    assert normalize_environment("dev") == "development"
    assert env_suffix("pre-prod") == "PRE_PROD"
