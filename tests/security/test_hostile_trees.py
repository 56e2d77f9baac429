"""Issue 12 item 7: hostile trees must not burn CPU or memory. Small but telling sizes; these
assert behaviour (what is read, parsed once, bounded, refused), never time: the speed figures
live in ``bench/bench_hostile.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from keydrift.check import build_model
from keydrift.sources import compose as compose_reader
from keydrift.sources import dotenv as dotenv_reader
from keydrift.sources._support import yamlnodes
from keydrift.sources._support.composeenv import parse_compose_env, resolve_compose_env
from keydrift.sources._support.interpolation import MAX_DEPTH, interpolate
from keydrift.sources.interface import UnreadableFile


def _nested(depth: int) -> str:
    return "".join(f"${{V{i}:-" for i in range(depth)) + "x" + "}" * depth


def test_security_nested_interpolation_is_capped() -> None:
    deep = interpolate(_nested(400), {}.get)
    assert deep.error is not None and "nested" in deep.error
    shallow = interpolate(_nested(MAX_DEPTH), {}.get)
    assert shallow.error is None and shallow.text == "x"


def test_security_nested_env_value_is_refused_not_compared() -> None:
    with pytest.raises(UnreadableFile, match="nested"):
        resolve_compose_env(parse_compose_env(f"JWT_SECRET={_nested(100)}\n"))


def test_security_env_file_is_parsed_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shared.env").write_text(
        "".join(f"APP_{i}_SECRET=s3cr3t-{i:04d}-0123456789abcdef\n" for i in range(50)))
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n" + "".join(f"  s{i}:\n    image: app\n    env_file: shared.env\n" for i in range(10)))
    calls: list[int] = []
    real = dotenv_reader.DotenvFile.parse.__func__  # type: ignore[attr-defined]

    def counted(cls: type[dotenv_reader.DotenvFile], text: str) -> dotenv_reader.DotenvFile:
        calls.append(len(text))
        return real(cls, text)  # type: ignore[no-any-return]

    monkeypatch.setattr(dotenv_reader.DotenvFile, "parse", classmethod(counted))
    model = build_model([str(tmp_path)])
    assert len([s for s in model.services if s.platform == "compose"]) == 10
    assert all("APP_7_SECRET" in s.env for s in model.services)
    assert len(calls) == 1  # ten services, one parse


def test_security_env_file_variables_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_reader, "MAX_ENV_FILE_PAIRS", 120)
    (tmp_path / "big.env").write_text(
        "".join(f"APP_{i}_SECRET=s3cr3t-{i:04d}-0123456789abcdef\n" for i in range(50)))
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n" + "".join(f"  s{i}:\n    image: app\n    env_file: big.env\n" for i in range(20)))
    model = build_model([str(tmp_path)])
    recorded = sum(len(s.env) for s in model.services if s.platform == "compose")
    assert recorded <= 120
    assert any("not checked" in s.reason for s in model.skipped)


def test_security_large_compose_without_aliases_is_read(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    # Counted by real alias expansions only: 300 services and 1,500 nodes with a budget of 50.
    monkeypatch.setattr(yamlnodes, "MAX_NODES", 50)
    (tmp_path / "docker-compose.yml").write_text("services:\n" + "".join(
        f"  s{i}:\n    image: app\n    ports: ['{8000 + i}:80']\n" for i in range(300)))
    model = build_model([str(tmp_path)])
    assert not model.skipped
    assert len([s for s in model.services if s.platform == "compose"]) == 300


def test_security_alias_bomb_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlnodes, "MAX_NODES", 50)
    bomb = "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n"
    with pytest.raises(UnreadableFile, match="alias bomb"):
        list(yamlnodes.iter_yaml(bomb))


def test_security_many_secret_documents_are_all_read(tmp_path: Path) -> None:
    docs = "---\n".join(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s{i}\n"
        f"stringData:\n  API_TOKEN: tok-{i:05d}-0123456789abcdefghij\n"
        for i in range(2000)
    )
    (tmp_path / "secrets.yaml").write_text(docs)
    model = build_model([str(tmp_path)])
    assert not model.skipped
    lines = {a.location.line for a in model.assignments if a.variable == "API_TOKEN"}
    assert len(lines) == 2000 and max(lines) == 1999 * 7 + 6  # each at its own line
