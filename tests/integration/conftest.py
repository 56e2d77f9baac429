"""Real uvicorn processes on 127.0.0.1: fixtures that always stop them, and a leftover check."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHAT_DIR = Path(__file__).resolve().parents[2] / "examples" / "chat_service"
if str(CHAT_DIR) not in sys.path:
    sys.path.insert(0, str(CHAT_DIR))

import fleet as fleet_module  # noqa: E402 - the example's fleet script, found on the path above


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """After the whole session, no process group started by a fleet may still be alive."""
    yield
    leftover = [g for g in fleet_module.STARTED_GROUPS if fleet_module.group_alive(g)]
    for pgid in leftover:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    assert not leftover, f"process groups left running: {leftover}"


@pytest.fixture
def fleet() -> Iterator[Any]:
    """A :class:`Fleet` stopped at teardown, even when the test fails or times out."""
    f = fleet_module.Fleet()
    try:
        yield f
    finally:
        f.stop_all()
