"""build_model: effective values in priority order, environments, presets, groups, paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from keydrift.check import build_model
from keydrift.check.build import effective_for
from keydrift.errors import InputError
from keydrift.model import Effective, Model
from keydrift.model.config import parse_config
from keydrift.model.types import Assignment, Location, Service
from keydrift.secret import SecretValue
from keydrift.spec import DEFAULT_JWT_SPEC

from ..sources.util import model_of, service, text, write_tree


def _assign(variable: str, value: str | None) -> Assignment:
    return Assignment(
        variable=variable,
        value=SecretValue(value) if value is not None else None,
        location=Location("x.yml", 1),
        source="compose",
        environment=None,
    )


def _svc(**env: str | None) -> Service:
    return Service(
        name="api", platform="compose", environment=None, location=Location("x.yml"),
        env={k: _assign(k, v) for k, v in env.items()},
    )


def test_priority_follows_variables_for() -> None:
    svc = _svc(JWT_SECRET="c" * 32, JWT_SECRET_KEY="b" * 32, JWT_SECRET_STAGING="a" * 32)
    staging = effective_for(svc, DEFAULT_JWT_SPEC, "staging")
    assert staging.variable == "JWT_SECRET_STAGING"
    assert [a.variable for a in staging.shadowed] == ["JWT_SECRET_KEY", "JWT_SECRET"]
    production = effective_for(svc, DEFAULT_JWT_SPEC, "production")
    assert production.variable == "JWT_SECRET_KEY"  # JWT_SECRET_STAGING is not read there
    unknown = effective_for(svc, DEFAULT_JWT_SPEC, None)
    assert unknown.variable == "JWT_SECRET_KEY"  # {ENV} templates skipped without environment


def test_empty_counts_as_unset_and_unknown_counts_as_set() -> None:
    svc = _svc(JWT_SECRET_KEY="", JWT_SECRET=None)
    effective = effective_for(svc, DEFAULT_JWT_SPEC, "staging")
    assert effective.variable == "JWT_SECRET"  # `JWT_SECRET_KEY=` is how people unset
    assert effective.assignment is not None and effective.assignment.value is None
    # Only an empty one: missing for the resolver, and the empty assignment says where it is set.
    missing = effective_for(_svc(JWT_SECRET_KEY=""), DEFAULT_JWT_SPEC, "staging")
    assert missing.variable == "JWT_SECRET_KEY"
    assert missing.assignment is not None and missing.assignment.value is not None
    assert len(missing.assignment.value) == 0
    from keydrift.rules._common import is_missing

    assert is_missing(missing)


def test_file_variable_names_an_unknown_file() -> None:
    svc = _svc(JWT_SECRET_FILE="/var/run/elsewhere")
    effective = effective_for(svc, DEFAULT_JWT_SPEC, "production")
    assert effective.variable == "JWT_SECRET"
    assert effective.assignment is not None and effective.assignment.value is None


def _effective(model: Model, name: str) -> dict[str | None, Effective]:
    return {e.environment: e for e in model.effective if e.service.name == name}


def test_services_without_environment_are_evaluated_in_each(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "compose.yaml": (
            "services:\n"
            "  api:\n    image: acme/api\n    environment:\n"
            "      JWT_SECRET: base-0123456789abcdefghijklmnopqrs\n"
            "      JWT_SECRET_PRODUCTION: prod-0123456789abcdefghijklmnopqrs\n"
            "  db:\n    image: postgres:16\n"
        ),
        ".env.staging": "JWT_SECRET=staging-0123456789abcdefghijklmnopq\n",
    })
    model = model_of(tmp_path)
    assert model.environments == ["production", "staging"]
    api = _effective(model, "api")
    assert api["production"].variable == "JWT_SECRET_PRODUCTION"
    assert api["staging"].variable == "JWT_SECRET"
    assert _effective(model, "db") == {}  # postgres never reads the JWT secret
    only = model_of(tmp_path, environment="staging")
    assert only.environments == ["staging"]
    assert {e.environment for e in only.effective} == {"staging"}


def test_no_environment_at_all_is_a_single_none(tmp_path: Path) -> None:
    write_tree(tmp_path, {"compose.yaml": (
        "services:\n  api:\n    image: a\n    environment:\n"
        "      JWT_SECRET: x-0123456789abcdefghijklmnopqrstu\n"
    )})
    model = model_of(tmp_path)
    assert model.environments == []
    assert list(_effective(model, "api")) == [None]


def test_presets_groups_and_config_specs(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "docker-compose.yml": (
            "services:\n"
            "  flow:\n    image: langflowai/langflow:latest\n    deploy: {replicas: 2}\n"
            "  api:\n    image: acme/api\n    environment:\n"
            "      AUTH_JWT: a-0123456789abcdefghijklmnopqrstuv\n"
            "  auth:\n    image: acme/auth\n"
        ),
    })
    config = parse_config({
        "specs": {"auth": {"variables": ["AUTH_JWT_{ENV}", "AUTH_JWT"]}},
        "groups": {"login": ["api", "auth"]},
    })
    model = model_of(tmp_path, config=config)
    flow = service(model, "flow")
    assert flow.presets == ("langflow",)
    (flow_effective,) = _effective(model, "flow").values()
    assert flow_effective.spec.name == "langflow" and flow_effective.variable is None
    assert service(model, "api").groups == ("login",)
    (api_effective,) = _effective(model, "api").values()
    assert api_effective.spec.name == "auth" and api_effective.variable == "AUTH_JWT"
    (auth_effective,) = _effective(model, "auth").values()  # in a group: needs the spec
    assert auth_effective.variable is None
    assert {s.name for s in model.specs} >= {"auth", "langflow"}
    assert model.config is config


def test_ignore_globs_and_skipped_directories(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "vendor/lib/.env": "JWT_SECRET=v-0123456789abcdefghijklmnopqrstuv\n",
        "node_modules/pkg/.env": "JWT_SECRET=n-0123456789abcdefghijklmnopqrstu\n",
        "fixtures/a.env": "JWT_SECRET=f-0123456789abcdefghijklmnopqrstu\n",
        "app/.env": "JWT_SECRET=a-0123456789abcdefghijklmnopqrstuv\n",
    })
    config = parse_config({"ignore": ["vendor/**", "fixtures/"]})
    assert model_of(tmp_path, config=config).files == ["app/.env"]


def test_named_paths(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "a/.env": "JWT_SECRET=a-0123456789abcdefghijklmnopqrstuv\n",
        "b/deploy": "export JWT_SECRET=b-0123456789abcdefghijklmnopqrst\n",
    })
    with pytest.raises(InputError, match="no such file"):
        build_model([str(tmp_path / "missing")])
    model = build_model([str(tmp_path / "a" / ".env"), str(tmp_path / "b" / "deploy")])
    assert model.root == str(tmp_path)
    assert model.files == ["a/.env", "b/deploy"]  # an unknown name named explicitly is sniffed
    assert text(model.assignments[1]) == "b-0123456789abcdefghijklmnopqrst"


def test_no_value_in_any_repr(tmp_path: Path, canary: str) -> None:
    write_tree(tmp_path, {
        "compose.yaml": (
            "services:\n  api:\n    image: a\n    env_file: staging.env\n"
            f"    environment:\n      JWT_SECRET_KEY: '{canary}'\n"
        ),
        "staging.env": f'JWT_SECRET="{canary}"\n',
        "deploy.py": f'JWT_SECRET = "{canary}"\n',
    })
    model = model_of(tmp_path)
    assert len(model.assignments) >= 3
    dumped = repr(model) + str(model.effective) + str(model.skipped)
    assert canary not in dumped
    assert canary[:16] not in dumped


def test_consumers_index(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "compose.yaml": (
            "services:\n"
            "  a:\n    image: x\n    env_file: shared.env\n"
            "  b:\n    image: x\n    env_file: shared.env\n"
            "  c:\n    image: x\n    environment: {JWT_SECRET: c-0123456789abcdefghijklmnopqrstu}\n"
        ),
        "shared.env": "JWT_SECRET=s-0123456789abcdefghijklmnopqrstuv\n",
    })
    model = model_of(tmp_path)
    assert model.consumers("JWT_SECRET", Location("shared.env", 1)) == ("a", "b")
    assert model.consumers("JWT_SECRET", Location("compose.yaml", 10)) == ("c",)
    assert model.consumers("JWT_SECRET", Location("elsewhere", 1)) == ()
