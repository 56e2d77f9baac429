"""Item 5: ``resolve(generate_into=...)`` never adopts a file it did not create.

A file planted by another user (any mode, or a symlink) used to be accepted, even in
production, so tokens signed with the attacker's value verified; and missing parent directories
were created 0777 minus umask. Now: opened with O_NOFOLLOW, owner must be this process's user,
no group or other bits, directories created 0700.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import pytest

from keydrift.errors import SecretFileError
from keydrift.keyring import Keyring
from keydrift.resolve import resolve

PLANTED = secrets.token_urlsafe(64)  # strong: refused for where it came from, not its content


def _plant(path: Path, mode: int = 0o600) -> Path:
    path.write_text(PLANTED + "\n")
    path.chmod(mode)
    return path


def _refused(path: Path, match: str) -> SecretFileError:
    for environment in ("production", "development"):
        with pytest.raises(SecretFileError, match=match) as info:
            resolve(environment=environment, env={}, generate_into=path)
        with pytest.raises(SecretFileError):
            Keyring.from_spec(environment=environment, env={}, generate_into=path)
    assert info.value.advice
    return info.value


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_security_generated_secret_with_group_or_other_bits_is_refused(
    tmp_path: Path, mode: int
) -> None:
    path = _plant(tmp_path / "jwt", mode)
    error = _refused(path, f"mode {mode:04o}")
    assert "chmod 600" in (error.advice or "")
    assert path.read_text() == PLANTED + "\n"  # left alone for a human to inspect


def test_security_generated_secret_symlink_is_refused(tmp_path: Path) -> None:
    target = _plant(tmp_path / "attacker-file")  # private and owned by us: only the link is wrong
    link = tmp_path / "jwt"
    link.symlink_to(target)
    _refused(link, "symbolic link")
    assert link.is_symlink()


def test_security_generated_secret_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test runs as root (CI and the dev container do) to chown a file")
    path = _plant(tmp_path / "jwt")
    os.chown(path, 65534, 65534)  # nobody
    _refused(path, "owned by uid 65534")


def test_security_generated_secret_directories_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "a" / "b" / "c" / "jwt"
        got = resolve(environment="production", env={}, generate_into=path)
    finally:
        os.umask(old)
    for level in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700, level
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == os.geteuid()
    # and the file keydrift made itself is adopted on the next start
    again = resolve(environment="production", env={}, generate_into=path)
    assert again.value == got.value


def test_generated_secret_keeps_a_private_file_of_its_own(tmp_path: Path) -> None:
    path = _plant(tmp_path / "jwt")  # what a previous run left: 0600, ours
    got = resolve(environment="production", env={}, generate_into=path)
    assert got.value.equals(PLANTED)
