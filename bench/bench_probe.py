"""How long `keydrift probe` takes over 100 instances on loopback.

What is measured, honestly: 100 keydrift endpoints on 100 loopback ports, each a real
``JWTAuthMiddleware`` with its own instance id, served by ``--processes`` uvicorn processes (one
uvicorn server per process listening on its share of the ports). Starting 100 Python processes
would measure the machine's memory, not the probe; the probe cannot tell the difference, since
each port answers with its own instance id. Reported: the in-process :func:`run_probe` time and
the end-to-end ``keydrift probe`` command time (Python start-up included), for one sample per
instance and for the default eight, in the same run.

    .venv/bin/python bench/bench_probe.py [--instances 100] [--processes 4]

Targets: under 2 s for 100 instances (issue 5); at the default samples, within 1.2x of the
1-sample time (issue 11: each endpoint says it is one process, so one request is enough).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

# Made at run time and handed to the server processes through their environment, so no secret is
# written in the repository and every process of one run shares it.
SECRET = os.environ.setdefault("KEYDRIFT_BENCH_SECRET", secrets.token_urlsafe(48))


def host(ports: list[int]) -> None:
    """Serve one middleware per port from a single uvicorn server (the --serve mode)."""
    import asyncio

    import uvicorn

    from keydrift.asgi import JWTAuthMiddleware
    from keydrift.keyring import Keyring

    ring = Keyring.from_secrets(SECRET)

    async def inner(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        await send({"type": "http.response.start", "status": 204,  # type: ignore[operator]
                    "headers": []})
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    apps = {p: JWTAuthMiddleware(inner, keyring=ring, instance_name=f"bench-{p}")  # type: ignore[arg-type]
            for p in ports}

    async def dispatch(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] == "lifespan":
            return
        await apps[scope["server"][1]](scope, receive, send)  # type: ignore[arg-type]

    sockets = []
    for p in ports:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p))
        sockets.append(s)
    config = uvicorn.Config(dispatch, log_level="warning", access_log=False, lifespan="off",
                            backlog=512)
    asyncio.run(uvicorn.Server(config).serve(sockets=sockets))


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        host([int(p) for p in args.serve.split(",")])
        return 0

    ports = free_ports(args.instances)
    shares = [ports[i::args.processes] for i in range(args.processes)]
    procs = [subprocess.Popen([sys.executable, __file__, "--serve", ",".join(map(str, share))],
                              start_new_session=True) for share in shares]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        deadline = time.monotonic() + 30
        for url in urls:
            while True:
                try:
                    urllib.request.urlopen(url + "/.well-known/keydrift", timeout=1)  # noqa: S310
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("bench servers did not start") from None
                    time.sleep(0.05)
        from keydrift.runtime.probe import run_probe

        print(f"{args.instances} keydrift endpoints (distinct instance ids) on loopback, served "
              f"by {args.processes} uvicorn processes; {os.cpu_count()} CPUs")
        worst = 0.0
        medians: dict[int, tuple[float, float]] = {}
        for samples in (1, 8):
            times, cli_times = [], []
            for _ in range(args.rounds):
                result = run_probe(urls, samples=samples, timeout=5)
                assert result.exit_code == 0 and len(result.instances) == args.instances, \
                    result.problems[:3]
                times.append(result.duration_s)
                start = time.perf_counter()
                proc = subprocess.run(
                    [sys.executable, "-m", "keydrift", "probe", *urls, "-n", str(samples),
                     "--format", "json"], capture_output=True, text=True, check=False)
                cli_times.append(time.perf_counter() - start)
                doc = json.loads(proc.stdout)
                assert proc.returncode == 0 and len(doc["instances"]) == args.instances
                asked = sum(u["samples"] for u in doc["urls"])
            med, cli = statistics.median(times), statistics.median(cli_times)
            medians[samples] = (med, cli)
            worst = max(worst, cli)
            print(f"  samples={samples}: {asked:>4} requests made  "
                  f"probe {med:.3f}s  `keydrift probe` end to end {cli:.3f}s  "
                  f"(medians of {args.rounds})")
        ratio_probe = medians[8][0] / medians[1][0]
        ratio_cli = medians[8][1] / medians[1][1]
        print(f"default samples / 1 sample: probe {ratio_probe:.2f}x, end to end "
              f"{ratio_cli:.2f}x (target <= 1.2x): {'PASS' if ratio_cli <= 1.2 else 'FAIL'}")
        print(f"target < 2 s for {args.instances} instances: "
              f"{'PASS' if worst < 2 else 'FAIL'} (slowest median {worst:.3f}s)")
        return 0 if worst < 2 and ratio_cli <= 1.2 else 1
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
