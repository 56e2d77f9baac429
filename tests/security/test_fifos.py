"""Item 12: a FIFO where a file is expected fails at once instead of hanging.

A FIFO at a ``*_FILE`` path or at ``generate_into`` hung ``resolve()``, app start-up and
``keydrift fingerprint``; ``check --baseline FIFO`` hung. Every such read now opens with
O_NONBLOCK, checks that it holds a regular file, then reads. Each case runs in a real
subprocess with a timeout, so a regression fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .util import ROOT, keydrift, write_tree
from .util_server import start_app

TIMEOUT = 60  # generous for a loaded CI machine; a hang is forever


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "jwt.fifo"
    os.mkfifo(path)
    return path


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)


def test_security_fifo_at_secret_file_path_fails_resolve_fast(fifo: Path) -> None:
    proc = _python(
        "from keydrift.resolve import resolve\n"
        "from keydrift.errors import SecretFileError\n"
        "try:\n"
        f"    resolve(environment='staging', env={{'JWT_SECRET_FILE': {str(fifo)!r}}})\n"
        "except SecretFileError as exc:\n"
        "    print(exc.one_line())\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "not a regular file" in proc.stdout


def test_security_fifo_at_generate_into_fails_fast(fifo: Path) -> None:
    proc = _python(
        "from keydrift.resolve import resolve\n"
        "from keydrift.errors import SecretFileError\n"
        "try:\n"
        f"    resolve(environment='staging', env={{}}, generate_into={str(fifo)!r})\n"
        "except SecretFileError as exc:\n"
        "    print(exc.one_line())\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "not a regular file" in proc.stdout and "refusing to replace" in proc.stdout
    assert fifo.is_fifo()


def test_security_fifo_fails_fingerprint_command_fast(fifo: Path, tmp_path: Path) -> None:
    proc = keydrift("fingerprint", env={"ENVIRONMENT": "staging", "JWT_SECRET_FILE": str(fifo)},
                    timeout=TIMEOUT)
    assert proc.returncode == 1
    assert b"not a regular file" in proc.stderr
    # the .env file named with --dotenv too
    proc = keydrift("fingerprint", "--dotenv", str(fifo), env={"ENVIRONMENT": "staging"},
                    timeout=TIMEOUT)
    assert proc.returncode == 1 and b"not a regular file" in proc.stderr


def test_security_fifo_fails_app_start_up_fast(fifo: Path) -> None:
    proc = start_app({b"ENVIRONMENT": b"staging", b"JWT_SECRET_FILE": os.fsencode(fifo)},
                     timeout=TIMEOUT)
    assert proc.returncode not in (None, 0), "start-up hung or served"
    assert b"not a regular file" in proc.stderr


def test_security_check_baseline_fifo_fails_fast(fifo: Path, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "repo", {"production.env": "JWT_SECRET=short\n"})
    proc = keydrift("check", str(tree), "--baseline", str(fifo), timeout=TIMEOUT)
    assert proc.returncode == 2
    assert b"not a regular file" in proc.stderr and b"Traceback" not in proc.stderr
