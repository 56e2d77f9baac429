"""keydrift.toml and [tool.keydrift]: parsing, defaults, and errors with file and advice."""

from __future__ import annotations

from pathlib import Path

import pytest

from keydrift.errors import ConfigError
from keydrift.model.config import Config, load_config
from keydrift.spec import DEFAULT_JWT_SPEC

FULL = """
environments = ["dev", "stg", "production"]
production_like = ["production", "staging"]
ignore = ["vendor/**", "fixtures/"]

[specs.jwt]
variables = ["AUTH_JWT_{ENV}", "AUTH_JWT"]
algorithm = "HS512"

[specs.session]
variables = ["SESSION_KEY"]
min_bytes = 48

[groups]
auth = ["api", "auth"]

[file_environments]
"deploy/cloud-*.sh" = "prod"

[severity]
KD303 = "off"
KD102 = "warning"
"""


def test_full_keydrift_toml(tmp_path: Path) -> None:
    (tmp_path / "keydrift.toml").write_text(FULL)
    config = load_config(str(tmp_path))
    assert config.environments == ("development", "staging", "production")
    assert config.production_like == frozenset({"production", "staging"})
    assert [s.name for s in config.specs] == ["jwt", "session"]
    jwt = config.specs[0]
    assert jwt.variables_for("staging") == ("AUTH_JWT_STAGING", "AUTH_JWT")
    assert jwt.algorithm == "HS512" and jwt.production_like == config.production_like
    assert config.specs[1].required_bytes == 48
    assert config.groups == {"auth": ["api", "auth"]}
    assert config.groups_of("auth") == ("auth",) and config.groups_of("web") == ()
    assert config.file_environments == {"deploy/cloud-*.sh": "production"}
    assert config.severity == {"KD303": "off", "KD102": "warning"}
    assert config.ignore == ("vendor/**", "fixtures/")
    assert config.path == str(tmp_path / "keydrift.toml")


def test_pyproject_table_and_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_config(str(tmp_path)) == Config.default()
    (tmp_path / "pyproject.toml").write_text('[tool.keydrift]\nignore = ["a/**"]\n')
    config = load_config(str(tmp_path))
    assert config.ignore == ("a/**",) and config.specs == (DEFAULT_JWT_SPEC,)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_config(str(empty)) == Config.default()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("ignore = 'x'", "ignore: must be a list of strings"),
        ("unknown = 1", "unknown: unknown key"),
        ("[severity]\nKD101 = 'fatal'", "unknown severity"),
        ("[severity]\nX1 = 'error'", "not a rule id"),
        ("[specs.jwt]\nalgorithm = 'HS999'", "unknown algorithm"),
        ("[specs.jwt]\nvariables = ['BAD NAME']", "invalid variable template"),
        ("[specs.jwt]\ncolour = 'red'", "specs.jwt.colour: unknown key"),
        ("[groups]\nauth = 'api'", "groups.auth: must be a list of strings"),
        ("environments = [", "invalid TOML"),
    ],
)
def test_invalid_config_names_file_and_key(tmp_path: Path, body: str, fragment: str) -> None:
    path = tmp_path / "keydrift.toml"
    path.write_text(body + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path))
    assert fragment in info.value.message
    assert info.value.where == str(path)
    assert info.value.advice


def test_explicit_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path), str(tmp_path / "missing.toml"))


def test_explicit_pyproject_without_table_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"no \[tool.keydrift\] table"):
        load_config(str(tmp_path), str(tmp_path / "pyproject.toml"))
