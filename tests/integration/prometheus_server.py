"""A real Prometheus server (Debian's `prometheus` binary) on 127.0.0.1 for the scrape tests.

Started with a temporary configuration and storage directory, in its own process group, and
always stopped (SIGTERM, then SIGKILL) when the context exits; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import fleet as fleet_module  # the example's fleet script: same process-group bookkeeping
import httpx
import yaml

from tests.deploy.prometheus_tools import require_binary

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "keydrift.rules.yml"


def drift_expression() -> str:
    """The shipped KeydriftSigningKeyDrift expression, as the rules file has it."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return str(next(r["expr"] for g in groups for r in g["rules"]
                    if r.get("alert") == "KeydriftSigningKeyDrift"))


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        resp.raise_for_status()
        body = resp.json()
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"Prometheus: timed out waiting for {what}")
            time.sleep(0.25)


@contextlib.contextmanager
def prometheus(tmp_path: Path, jobs: Mapping[str, Sequence[str]],
               interval: str = "1s") -> Iterator[Prometheus]:
    """Prometheus scraping ``jobs`` (job name -> ``host:port`` targets, /metrics) every ``interval``."""
    binary = require_binary("prometheus")
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval,
                   "scrape_timeout": interval},
        "scrape_configs": [
            {"job_name": job, "metrics_path": "/metrics",
             "static_configs": [{"targets": list(targets)}]}
            for job, targets in jobs.items()
        ],
    }
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = fleet_module.free_port()
    log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [binary, f"--config.file={workdir / 'prometheus.yml'}",
         f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        cwd=workdir,
    )
    fleet_module.STARTED_GROUPS.append(proc.pid)
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited {proc.returncode}: "
                                   f"{(workdir / 'prometheus.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{server.url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus did not become ready in 60 s")
            time.sleep(0.1)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()
