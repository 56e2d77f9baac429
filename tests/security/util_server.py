"""Start the asset app under a real uvicorn process and report how start-up ended."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSET_DIR = ROOT / "tests" / "assets" / "security"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(env: dict[bytes, bytes], timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run uvicorn on the asset app; it must exit by itself (start-up refused) within
    ``timeout``. A server that starts instead is killed and reported as exit code None."""
    base = {
        b"PATH": os.environ.get("PATH", "/usr/bin:/bin").encode(),
        b"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ASSET_DIR)]).encode(),
    }
    cmd = [sys.executable, "-m", "uvicorn", "app_from_env:app", "--host", "127.0.0.1",
           "--port", str(free_port()), "--lifespan", "auto"]
    proc = subprocess.Popen(cmd, env={**base, **env}, stdout=subprocess.PIPE,  # type: ignore[dict-item]
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return subprocess.CompletedProcess(cmd, None, out, err)  # type: ignore[arg-type]
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
