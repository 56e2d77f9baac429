"""Candidates from the process environment and flags, with roles and provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from keydrift.errors import InputError, UsageError
from keydrift.explain import from_flags, from_process_env
from tests.explain.explain_helpers import OTHER, STRONG


def test_process_env_roles_follow_the_resolver(tmp_path: Path) -> None:
    secret_file = tmp_path / "jwt"
    secret_file.write_bytes(b"file-secret-value-0123456789abcdef\n")
    env = {
        "ENVIRONMENT": "staging",
        "JWT_SECRET_STAGING": STRONG,
        "JWT_SECRET_PRODUCTION": OTHER,
        "JWT_SECRET_PREVIOUS": "previous-0123456789abcdef0123456789",
        "JWT_SECRET_FILE": str(secret_file),
        "PATH": "/usr/bin",
        "JWT_SECRET_KEY": "",
    }
    by_id = {c.id: c for c in from_process_env(env)}
    assert set(by_id) == {"env:JWT_SECRET_STAGING", "env:JWT_SECRET_PRODUCTION",
                          "env:JWT_SECRET_PREVIOUS", "env:JWT_SECRET_FILE"}
    assert (by_id["env:JWT_SECRET_STAGING"].role,
            by_id["env:JWT_SECRET_STAGING"].environment) == ("expected", "staging")
    assert by_id["env:JWT_SECRET_PREVIOUS"].role == "previous"
    # A variable that names no environment serves the process's ENVIRONMENT: resolve() judges
    # its strength there, so explain must too.
    assert by_id["env:JWT_SECRET_PREVIOUS"].environment == "staging"
    production = by_id["env:JWT_SECRET_PRODUCTION"]
    assert (production.role, production.environment) == ("known", "production")
    via_file = by_id["env:JWT_SECRET_FILE"]
    assert (via_file.origin, via_file.variable, via_file.path) == (
        "env_file", "JWT_SECRET", str(secret_file))
    assert via_file.value.reveal() == b"file-secret-value-0123456789abcdef"
    assert via_file.raw is not None and via_file.raw.reveal().endswith(b"\n")


def test_preset_variables_are_candidates() -> None:
    found = from_process_env({"N8N_ENCRYPTION_KEY": STRONG})
    assert [(c.variable, c.spec) for c in found] == [("N8N_ENCRYPTION_KEY", "n8n")]


def test_flags(tmp_path: Path) -> None:
    path = tmp_path / "s"
    path.write_bytes(STRONG.encode() + b"\r\n")
    env_c, file_c = from_flags(["MY_KEY"], [str(path)], env={"MY_KEY": OTHER},
                               environment="Stage")
    assert (env_c.role, env_c.origin, env_c.variable) == ("expected", "flag_env", "MY_KEY")
    # --secret-file keeps the file's exact bytes (its help says so); variants try the rest.
    assert file_c.value.reveal() == STRONG.encode() + b"\r\n"
    assert file_c.raw is None
    assert (env_c.environment, file_c.environment) == ("staging", "staging")
    with pytest.raises(UsageError):
        from_flags(["MISSING"], [], env={})
    empty = tmp_path / "empty"
    empty.write_bytes(b"\n")
    with pytest.raises(InputError):
        from_flags([], [str(empty)], env={})
    with pytest.raises(InputError):
        from_flags([], [str(tmp_path)], env={})
