"""generate_into: processes starting together all end with the same secret, created once."""

from __future__ import annotations

import multiprocessing as mp
import os
import stat
from pathlib import Path

import pytest

from keydrift import resolve
from keydrift.errors import SecretFileError

PROCESSES = 64
ROUNDS = 20


def _racer(path: str, barrier: mp.synchronize.Barrier, out: mp.Queue) -> None:  # type: ignore[type-arg]
    barrier.wait(timeout=60)
    try:
        got = resolve(environment="development", env={}, generate_into=path)
        out.put(("ok", got.fingerprint, got.provenance.kind))
    except Exception as exc:
        out.put(("error", type(exc).__name__, str(exc)))


def test_64_processes_agree_20_rounds(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")  # real processes, started from an already-imported parent
    for round_no in range(ROUNDS):
        path = tmp_path / f"round{round_no}" / "jwt.secret"
        barrier = ctx.Barrier(PROCESSES)
        out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        procs = [ctx.Process(target=_racer, args=(str(path), barrier, out)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        results = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0
        errors = [r for r in results if r[0] != "ok"]
        assert not errors, errors[:3]
        fingerprints = {r[1] for r in results}
        assert len(fingerprints) == 1, f"round {round_no}: {len(fingerprints)} different secrets"
        assert {r[2] for r in results} == {"generated"}
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        leftovers = [p.name for p in path.parent.iterdir() if p.name != path.name]
        assert leftovers == [], leftovers


def test_existing_file_is_reused(tmp_path: Path) -> None:
    path = tmp_path / "jwt"
    first = resolve(environment="dev", env={}, generate_into=path)
    second = resolve(environment="dev", env={}, generate_into=path)
    assert first.value == second.value


def test_variable_wins_over_generated_file(tmp_path: Path, strong_secret: str) -> None:
    got = resolve(environment="dev", env={"JWT_SECRET": strong_secret}, generate_into=tmp_path / "g")
    assert got.value.equals(strong_secret)
    assert not (tmp_path / "g").exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "empty"), (b"\n", "empty"), (b"abc123", "corrupt"), (b"x" * 10, "corrupt")],
    ids=["empty", "newline-only", "half-written", "garbage"],
)
def test_corrupt_or_empty_file_is_a_clear_error(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "jwt"
    path.write_bytes(content)
    path.chmod(0o600)  # private like a generated file, so the content is what is judged
    with pytest.raises(SecretFileError, match=match) as info:
        resolve(environment="dev", env={}, generate_into=path)
    assert "refusing to replace" in str(info.value)
    assert path.read_bytes() == content  # never silently replaced


def test_unreadable_generated_path_is_error(tmp_path: Path) -> None:
    path = tmp_path / "dir"
    path.mkdir()
    with pytest.raises(SecretFileError):
        resolve(environment="dev", env={}, generate_into=path)
    assert path.is_dir()


def test_generated_secret_is_strong(tmp_path: Path) -> None:
    from keydrift.strength import check_strength

    got = resolve(environment="production", env={}, generate_into=tmp_path / "jwt")
    assert check_strength(got.value).ok
    assert len(got.value) >= 64
    assert os.stat(tmp_path / "jwt").st_size == len(got.value) + 1
