"""`.env` files through python-dotenv's parser, with every reader's view of each line."""

from __future__ import annotations

from pathlib import Path

from keydrift.sources._support.envinfer import is_template_path
from keydrift.sources.dotenv import parse_dotenv

from .util import file_level, model_of, text, write_tree


def test_quotes_line_numbers_and_interpolation() -> None:
    entries = {
        e.key: e
        for e in parse_dotenv(
            "# comment\n"
            'A="double quoted"\n'
            "B='single ${A}'\n"
            "export C=plain # trailing comment\n"
            "D=${C}-x\n"
            "E=$C\n"
        )
    }
    assert entries["A"].line == 2 and entries["A"].dotenv == "double quoted"
    assert entries["A"].literal == '"double quoted"'
    # python-dotenv interpolates ${VAR} even in single quotes; compose does not
    assert entries["B"].dotenv == "single double quoted"
    assert entries["B"].compose == "single ${A}"
    assert entries["C"].dotenv == "plain"
    assert entries["D"].dotenv == "plain-x" and entries["D"].compose == "plain-x"
    # `$VAR` without braces: python-dotenv keeps it, compose expands it
    assert entries["E"].dotenv == "$C" and entries["E"].compose == "plain"


def test_file_level_assignments_keep_readers(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "staging.env": 'JWT_SECRET="quoted-value-0123456789abcdefghij"\nLOG_LEVEL=info\n',
        ".env.production": "JWT_SECRET=plain-value-0123456789abcdefghijkl\n",
    })
    model = model_of(tmp_path)
    by_env = {a.environment: a for a in file_level(model, "JWT_SECRET")}
    assert set(by_env) == {"staging", "production"}
    staging = by_env["staging"]
    assert text(staging) == "quoted-value-0123456789abcdefghij"
    assert str(staging.location) == "staging.env:1"
    views = {r.reader: r.value.reveal_text() for r in staging.readers}
    assert views["docker-run-env-file"] == '"quoted-value-0123456789abcdefghij"'
    assert views["kubectl-from-env-file"] == '"quoted-value-0123456789abcdefghij"'
    assert views["python-dotenv"] == "quoted-value-0123456789abcdefghij"
    # unquoted: every reader agrees, so no views are recorded
    assert by_env["production"].readers == ()
    assert not file_level(model, "LOG_LEVEL")  # not secret-like: not recorded


def test_templates_are_marked(tmp_path: Path) -> None:
    write_tree(tmp_path, {".env.example": "JWT_SECRET=change-me\n", ".env": "JWT_SECRET=x\n"})
    model = model_of(tmp_path)
    flags = {a.location.path: a.template for a in file_level(model, "JWT_SECRET")}
    assert flags == {".env.example": True, ".env": False}
    assert is_template_path("deploy/app.example.yml")
    assert is_template_path(".env.sample") and is_template_path(".env.template")
    assert not is_template_path(".env.staging")


def test_variable_suffix_gives_environment(tmp_path: Path) -> None:
    write_tree(tmp_path, {".env": "JWT_SECRET_STAGING=a-staging-value-0123456789abcdef\n"})
    (assignment,) = file_level(model_of(tmp_path), "JWT_SECRET_STAGING")
    assert assignment.environment == "staging"
