"""Helpers for the security regressions: small trees, the CLI in-process and in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from keydrift.cli.main import main

from ..sources.util import write_tree

__all__ = ["ROOT", "cli", "keydrift", "write_tree"]

ROOT = Path(__file__).resolve().parents[2]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``keydrift ARGS`` in this process: exit code, stdout, stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def keydrift(*args: str, env: dict[str, str] | dict[bytes, bytes] | None = None,
             timeout: float = 60, cwd: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """``python -m keydrift ARGS`` in a real subprocess, killed after ``timeout`` seconds (a
    hang is a test failure, never a stuck suite)."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT / "src")}
    full: dict[bytes, bytes] = {k.encode(): v.encode() for k, v in base.items()}
    for key, value in (env or {}).items():
        full[key.encode() if isinstance(key, str) else key] = (
            value.encode() if isinstance(value, str) else value
        )
    return subprocess.run([sys.executable, "-m", "keydrift", *args], env=full,  # type: ignore[arg-type]
                          capture_output=True, timeout=timeout, cwd=cwd, check=False)
