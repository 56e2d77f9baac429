"""Resolution order, *_FILE variants, conflicts and missing-secret messages per environment."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from keydrift import resolve
from keydrift.errors import (
    MissingSecretError,
    SecretConflictError,
    SecretFileError,
    UsageError,
    WeakSecretError,
)
from keydrift.spec import SecretSpec

ENVS = ["development", "staging", "production"]


def _s() -> str:
    return secrets.token_urlsafe(48)


@pytest.mark.parametrize("environment", ENVS)
def test_priority_env_specific_wins(environment: str) -> None:
    specific, key, plain = _s(), _s(), _s()
    env = {
        f"JWT_SECRET_{environment.upper()}": specific,
        "JWT_SECRET_KEY": key,
        "JWT_SECRET": plain,
        "ENVIRONMENT": environment,
    }
    got = resolve(env=env)
    assert got.value.equals(specific)
    assert str(got.provenance) == f"env JWT_SECRET_{environment.upper()}"
    assert got.environment == environment
    del env[f"JWT_SECRET_{environment.upper()}"]
    assert resolve(env=env).value.equals(key)
    del env["JWT_SECRET_KEY"]
    got = resolve(env=env)
    assert got.value.equals(plain) and got.variable == "JWT_SECRET"


@pytest.mark.parametrize("environment", ENVS)
def test_other_environments_variable_is_ignored(environment: str) -> None:
    other = "production" if environment != "production" else "staging"
    env = {f"JWT_SECRET_{other.upper()}": _s()}
    with pytest.raises(MissingSecretError) as info:
        resolve(environment=environment, env=env)
    looked = info.value.looked
    assert looked[0] == f"env JWT_SECRET_{environment.upper()}"
    assert looked[1] == f"env JWT_SECRET_{environment.upper()}_FILE"
    assert looked[-2:] == ("env JWT_SECRET", "env JWT_SECRET_FILE")
    assert "keydrift generate" in str(info.value)
    assert f"JWT_SECRET_{other.upper()}" not in info.value.looked


def test_missing_without_environment_skips_env_templates() -> None:
    with pytest.raises(MissingSecretError) as info:
        resolve(env={})
    assert info.value.looked == (
        "env JWT_SECRET_KEY", "env JWT_SECRET_KEY_FILE", "env JWT_SECRET", "env JWT_SECRET_FILE",
    )
    assert "ENVIRONMENT unset" in info.value.message


def test_empty_variable_counts_as_unset() -> None:
    value = _s()
    got = resolve(environment="staging", env={"JWT_SECRET_STAGING": "", "JWT_SECRET": value})
    assert got.value.equals(value)


@pytest.mark.parametrize("environment", ENVS)
def test_file_variant(tmp_path: Path, environment: str) -> None:
    value = _s()
    path = tmp_path / "jwt"
    path.write_text(value + "\n")  # a single trailing newline is dropped
    env = {f"JWT_SECRET_{environment.upper()}_FILE": str(path)}
    got = resolve(environment=environment, env=env)
    assert got.value.equals(value)
    assert got.provenance.kind == "file" and got.provenance.path == str(path)
    assert str(path) in str(got.provenance)


def test_file_keeps_second_newline_and_crlf_dropped(tmp_path: Path) -> None:
    value = _s()
    (tmp_path / "a").write_bytes(value.encode() + b"\r\n")
    (tmp_path / "b").write_bytes(value.encode() + b"\n\n")
    assert resolve(environment="development",
                   env={"JWT_SECRET_FILE": str(tmp_path / "a")}).value.equals(value)
    assert resolve(environment="development",
                   env={"JWT_SECRET_FILE": str(tmp_path / "b")}).value.equals(value + "\n")


def test_value_and_file_conflict(tmp_path: Path) -> None:
    path = tmp_path / "jwt"
    path.write_text(_s())
    with pytest.raises(SecretConflictError) as info:
        resolve(environment="staging", env={"JWT_SECRET": _s(), "JWT_SECRET_FILE": str(path)})
    assert "JWT_SECRET and JWT_SECRET_FILE" in info.value.message


def test_value_and_file_agreeing_is_fine(tmp_path: Path) -> None:
    value = _s()
    path = tmp_path / "jwt"
    path.write_text(value + "\n")
    got = resolve(environment="staging", env={"JWT_SECRET": value, "JWT_SECRET_FILE": str(path)})
    assert got.value.equals(value) and got.provenance.kind == "env"


@pytest.mark.parametrize("content", [b"", b"\n", b"   \n"])
def test_empty_secret_file_is_an_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "jwt"
    path.write_bytes(content)
    with pytest.raises(SecretFileError, match="empty"):
        resolve(environment="staging", env={"JWT_SECRET_FILE": str(path)})


def test_missing_and_directory_secret_file(tmp_path: Path) -> None:
    with pytest.raises(SecretFileError, match="does not exist"):
        resolve(environment="staging", env={"JWT_SECRET_FILE": str(tmp_path / "nope")})
    with pytest.raises(SecretFileError, match="directory|regular"):
        resolve(environment="staging", env={"JWT_SECRET_FILE": str(tmp_path)})


def test_secret_file_path_through_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    with pytest.raises(SecretFileError, match="cannot read|does not exist"):
        resolve(environment="staging", env={"JWT_SECRET_FILE": str(tmp_path / "plain" / "jwt")})


def test_dotenv_source_with_line_numbers(tmp_path: Path) -> None:
    value = _s()
    dotenv = tmp_path / ".env.staging"
    dotenv.write_text(f"# staging\nENVIRONMENT=staging\n\n\nJWT_SECRET_STAGING='{value}'\n")
    got = resolve(env={}, dotenv_path=dotenv)
    assert got.value.equals(value)  # quotes stripped the way python-dotenv strips them
    assert got.environment == "staging"
    assert str(got.provenance) == f"{dotenv}:5 (JWT_SECRET_STAGING)"


def test_process_env_beats_dotenv_for_same_variable(tmp_path: Path) -> None:
    from_env, from_file = _s(), _s()
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"JWT_SECRET={from_file}\n")
    got = resolve(environment="staging", env={"JWT_SECRET": from_env}, dotenv_path=dotenv)
    assert got.value.equals(from_env)


def test_dotenv_higher_priority_variable_beats_env_lower(tmp_path: Path) -> None:
    # load_dotenv() then priority order: JWT_SECRET_STAGING from .env outranks JWT_SECRET from env.
    specific, generic = _s(), _s()
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"JWT_SECRET_STAGING={specific}\n")
    got = resolve(environment="staging", env={"JWT_SECRET": generic}, dotenv_path=dotenv)
    assert got.value.equals(specific)


def test_dotenv_file_variable_relative_to_dotenv(tmp_path: Path) -> None:
    value = _s()
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "jwt").write_text(value + "\n")
    dotenv = tmp_path / ".env"
    dotenv.write_text("JWT_SECRET_FILE=secrets/jwt\n")
    got = resolve(environment="development", env={}, dotenv_path=dotenv)
    assert got.value.equals(value) and got.provenance.kind == "file"


def test_missing_dotenv_path_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        resolve(environment="dev", env={}, dotenv_path=tmp_path / "absent.env")


@pytest.mark.parametrize("environment", ["staging", "production", "prod", "live"])
def test_placeholder_refused_in_production_like(environment: str) -> None:
    placeholder = "your-secure-jwt-secret-key-staging-64-chars-minimum-for-security"
    with pytest.raises(WeakSecretError) as info:
        resolve(environment=environment, env={"JWT_SECRET": placeholder})
    assert "placeholder" in info.value.problems
    assert placeholder not in str(info.value)


def test_placeholder_warns_in_development(caplog: pytest.LogCaptureFixture) -> None:
    placeholder = "your-secure-jwt-secret-key-staging-64-chars-minimum-for-security"
    got = resolve(environment="development", env={"JWT_SECRET": placeholder})
    assert got.warnings and "placeholder" in got.warnings[0]
    assert any("weak jwt secret" in r.getMessage() for r in caplog.records)
    assert all(placeholder not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("value", ["short", "a" * 40, "secret"])
def test_weak_secrets_refused_in_staging(value: str) -> None:
    with pytest.raises(WeakSecretError):
        resolve(environment="staging", env={"JWT_SECRET": value})


def test_hs512_needs_64_bytes() -> None:
    spec = SecretSpec(algorithm="HS512")
    with pytest.raises(WeakSecretError, match="64"):
        resolve(spec, "production", env={"JWT_SECRET": secrets.token_hex(24)})  # 48 bytes


def test_custom_spec_and_environment_variable() -> None:
    spec = SecretSpec(name="api", variables=("API_SECRET_{ENV}", "API_SECRET"),
                      environment_variable="APP_ENV")
    value = _s()
    got = resolve(spec, env={"APP_ENV": "qa", "API_SECRET_QA": value})
    assert got.environment == "qa" and got.value.equals(value) and got.spec_name == "api"


def test_invalid_environment_name_rejected() -> None:
    with pytest.raises(UsageError):
        resolve(env={"ENVIRONMENT": "../../etc", "JWT_SECRET": _s()})
