"""Issue 11: a worker killed and respawned by uvicorn is never reported as unreached.

Real ``uvicorn --workers 2`` processes (the chat service), a real SIGKILL, and uvicorn's own
supervisor respawning the worker. The surviving worker had already listed the dead one in its
(cached) sibling list when the worker died.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from typing import Any

import pytest

from keydrift.runtime.probe import run_probe
from tests.runtime.runtime_helpers import validate


def _workers(supervisor: int) -> list[int]:
    """The worker processes uvicorn's supervisor started: its children (from /proc) that run
    multiprocessing's spawn_main (not its resource tracker)."""
    with open(f"/proc/{supervisor}/task/{supervisor}/children", encoding="ascii") as fh:
        children = [int(p) for p in fh.read().split()]
    workers = []
    for pid in children:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if b"spawn_main" in fh.read():
                workers.append(pid)
    return workers


@pytest.mark.timeout(120)
def test_killed_and_respawned_worker_is_never_unreached(fleet: Any) -> None:
    replica = fleet.start("w", {"JWT_SECRET": secrets.token_urlsafe(48)}, workers=2)
    first = run_probe([replica.url], samples=16)
    assert first.exit_code == 0, first.problems
    assert len(first.instances) == 2
    before = {i.instance_id for i in first.instances}
    workers = _workers(replica.proc.pid)
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)
    checked = 0
    deadline = time.monotonic() + 8  # well inside the 10 s the sibling list is cached for
    while time.monotonic() < deadline:
        result = run_probe([replica.url], samples=8)
        doc = validate(result.to_dict(), "probe-output-v1.json")
        report = doc["urls"][0]
        # Instance ids are opaque: the victim is whichever id of the first run has gone.
        assert not set(report["unreached"]) & before, doc["problems"]
        assert len(before & set(report["instances"])) == 1, report["instances"]
        assert not any("never answered" in p for p in doc["problems"]), doc["problems"]
        checked += 1
        if len(report["instances"]) == 2:  # the respawned worker answers too
            assert result.exit_code == 0, doc["problems"]
            break
        time.sleep(0.2)
    assert checked >= 1
    assert len(report["instances"]) == 2, "uvicorn did not respawn the worker in time"
