"""Start a fleet of chat-service replicas (each a uvicorn process, optionally with workers).

Every replica binds 127.0.0.1 on a free port and runs in its own process group, so stopping it
stops its workers too. Usable as a script (Ctrl-C stops everything) and as a library (the
integration tests use :class:`Fleet` as a context manager)::

    python examples/chat_service/fleet.py --replicas 3 --legacy
    python examples/chat_service/fleet.py --replicas 2 --workers 2 --env JWT_SECRET=$(keydrift generate)
    python examples/chat_service/fleet.py --replicas 3 --env ENVIRONMENT=development \\
        --env JWT_SECRET=... --replica-env 2:JWT_SECRET=your-super-secret-jwt-key-change-me-now
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
# Every process group this module ever started; tests check none survives the session.
STARTED_GROUPS: list[int] = []
# Variables that would leak the caller's configuration into a replica.
_SCRUB_PREFIXES = ("JWT_", "ENVIRONMENT", "CHAT_", "KEYDRIFT_", "PROMETHEUS_", "prometheus_")


class StartupFailed(RuntimeError):
    """A replica exited (or never answered) during start-up; ``output`` is its log."""

    def __init__(self, name: str, returncode: int | None, output: str) -> None:
        self.name = name
        self.returncode = returncode
        self.output = output
        super().__init__(f"replica {name} failed to start (exit {returncode}):\n{output[-3000:]}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Replica:
    name: str
    port: int
    workers: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log_path: Path
    stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def _get_json(url: str, timeout: float = 1.0) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback
            data = json.loads(resp.read())
            return data if isinstance(data, dict) else None
    except (OSError, ValueError, urllib.error.URLError):
        return None


class Fleet:
    """Replicas of ``app:app`` from this directory, stopped on exit whatever happens."""

    def __init__(self, base_env: Mapping[str, str] | None = None, app: str = "app:app",
                 log_dir: str | os.PathLike[str] | None = None) -> None:
        self.app = app
        self.replicas: list[Replica] = []
        self._tmp = None if log_dir else tempfile.TemporaryDirectory(prefix="keydrift-fleet-")
        self.log_dir = Path(log_dir) if log_dir else Path(self._tmp.name)  # type: ignore[union-attr]
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES)}
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.update(base_env or {})
        self.base_env = env

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def __iter__(self) -> Iterator[Replica]:
        return iter(self.replicas)

    def start(self, name: str | None = None, env: Mapping[str, str] | None = None,
              workers: int = 1, port: int | None = None, wait: bool = True,
              timeout: float = 30.0, args: tuple[str, ...] = ()) -> Replica:
        """Start one replica; with ``wait`` return once it (and each worker) answers.

        ``args`` are extra uvicorn options (e.g. ``("--root-path", "/api")``).
        """
        name = name or f"r{len(self.replicas) + 1}"
        full_env = {**self.base_env, **(env or {})}
        port = port or free_port()
        log_path = self.log_dir / f"{name}-{port}.log"
        cmd = [sys.executable, "-m", "uvicorn", self.app, "--app-dir", str(HERE),
               "--host", HOST, "--port", str(port), "--workers", str(workers),
               "--no-access-log", "--timeout-graceful-shutdown", "3", *args]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        STARTED_GROUPS.append(proc.pid)
        replica = Replica(name, port, workers, dict(env or {}), proc, log_path)
        self.replicas.append(replica)
        if wait:
            try:
                self.wait_ready(replica, timeout)
            except BaseException:
                self.stop(replica)
                raise
        return replica

    def wait_ready(self, replica: Replica, timeout: float = 30.0) -> None:
        """Wait for /healthz, then for every worker to show up on the fingerprint endpoint."""
        deadline = time.monotonic() + timeout
        while _get_json(replica.url + "/healthz", 0.5) is None:
            if replica.proc.poll() is not None:
                raise StartupFailed(replica.name, replica.proc.returncode, replica.output())
            if time.monotonic() > deadline:
                raise StartupFailed(replica.name, None, replica.output())
            time.sleep(0.05)
        if replica.workers <= 1:
            return
        seen: set[str] = set()
        # Concurrent connections so that busy workers leave the next accept to idle ones.
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            while len(seen) < replica.workers:
                if time.monotonic() > deadline:
                    raise StartupFailed(replica.name, None, replica.output())
                urls = [replica.url + "/healthz"] * 16
                for doc in pool.map(_get_json, urls):
                    if doc and isinstance(doc.get("instance_id"), str):
                        seen.add(str(doc["instance_id"]))
                time.sleep(0.02)

    def stop(self, replica: Replica, timeout: float = 10.0) -> None:
        """SIGTERM the replica's process group, SIGKILL what is left after ``timeout``."""
        if replica.stopped:
            return
        pgid = replica.proc.pid
        _signal_group(pgid, signal.SIGTERM)
        try:
            replica.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            replica.proc.wait(5)
        # Workers are in the same group; make sure none outlives its supervisor.
        deadline = time.monotonic() + timeout
        while group_alive(pgid):
            if time.monotonic() > deadline:
                _signal_group(pgid, signal.SIGKILL)
                time.sleep(0.1)
                break
            time.sleep(0.05)
        replica.stopped = True

    def stop_all(self) -> None:
        errors: list[BaseException] = []
        for replica in reversed(self.replicas):
            try:
                self.stop(replica)
            except BaseException as exc:  # keep stopping the others
                errors.append(exc)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if errors:
            raise errors[0]


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """True while any process of group ``pgid`` exists (zombies of our own children excluded)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg(0) succeeds for zombies too; look for a live member in /proc where available.
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _pairs(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"expected KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--legacy", action="store_true",
                        help="each process generates its own key when JWT_SECRET is unset")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment for every replica (repeatable)")
    parser.add_argument("--replica-env", action="append", default=[], metavar="I:KEY=VALUE",
                        help="environment for replica I (1-based, repeatable)")
    parser.add_argument("--duration", type=float, default=3600.0, metavar="SECONDS",
                        help="stop the fleet after this long (default: one hour)")
    args = parser.parse_args(argv)
    # SIGTERM (from `timeout`, a supervisor or `kill`) stops the fleet like Ctrl-C does, so the
    # replicas never outlive this script.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    base = _pairs(args.env)
    if args.legacy:
        base["CHAT_LEGACY_KEYS"] = "1"
    per: dict[int, list[str]] = {}
    for item in args.replica_env:
        index, _, pair = item.partition(":")
        per.setdefault(int(index), []).append(pair)
    with Fleet(base) as fleet:
        for i in range(1, args.replicas + 1):
            try:
                replica = fleet.start(f"r{i}", _pairs(per.get(i, [])), workers=args.workers)
            except StartupFailed as exc:
                print(f"r{i}: refused to start (exit {exc.returncode})", file=sys.stderr)
                lines = [ln for ln in exc.output.splitlines() if "keydrift" in ln or "rror" in ln]
                print("\n".join(lines[-5:]), file=sys.stderr)
                continue
            print(f"{replica.name} {replica.url} workers={replica.workers}", flush=True)
        running = [r for r in fleet if not r.stopped]
        if running:
            urls = " ".join(r.url for r in running)
            print(f"probe with: keydrift probe {urls} --login {running[0].url}/login "
                  "--ws /ws/chat --http-path /me", flush=True)
        else:
            print("no replica is running", file=sys.stderr)
            return 1
        try:
            time.sleep(args.duration)
        except KeyboardInterrupt:
            pass
    return 0


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
