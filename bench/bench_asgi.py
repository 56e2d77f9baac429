"""Requests per second of a trivial endpoint with and without JWTAuthMiddleware (and with metrics).

Same app, same uvicorn settings (one worker, no access log), same load generator, same request
(every request carries the bearer token, so the only difference is the middleware). Servers run
side by side and are loaded one at a time; each round measures every variant back to back and
the median of the paired ratios is reported. The load generator is
``wrk`` (installed with apt-get when missing and possible); without it, an httpx-based async
generator is used, which is much slower than uvicorn and so understates the difference: the
script says which one ran.

    .venv/bin/python bench/bench_asgi.py [--app starlette|raw] [--duration 5] [--rounds 3]

Targets: middleware / plain >= 0.85 (issue 5); middleware with Prometheus metrics enabled
(keydrift.metrics, prometheus_client) / plain >= 0.85 (issue 14).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import shutil
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


def build_app(kind: str, variant: str) -> object:
    """The app under test: ``plain`` (no middleware), ``keydrift``, ``keydrift-metrics`` (with
    Prometheus metrics enabled) or ``keydrift-nocache``."""
    if kind == "raw":
        async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
            if scope["type"] != "http":
                return
            await send({"type": "http.response.start", "status": 200,  # type: ignore[operator]
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

        inner: object = app
    else:
        from starlette.applications import Starlette
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        async def hello(request: object) -> PlainTextResponse:
            return PlainTextResponse("ok")

        inner = Starlette(routes=[Route("/hello", hello)])
    if variant == "plain":
        return inner
    from keydrift.asgi import JWTAuthMiddleware
    from keydrift.keyring import Keyring

    cache = 0 if variant == "keydrift-nocache" else 4096
    metrics = None
    if variant == "keydrift-metrics":
        from keydrift.metrics import KeydriftMetrics

        metrics = KeydriftMetrics()
    return JWTAuthMiddleware(inner, keyring=Keyring.from_secrets(SECRET),  # type: ignore[arg-type]
                             cache_size=cache, metrics=metrics)


def serve(kind: str, variant: str, port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(kind, variant), host="127.0.0.1", port=port, log_level="warning",
                access_log=False, lifespan="off")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("installing wrk with apt-get ...", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return shutil.which("wrk")


def run_wrk(wrk: str, url: str, token: str, duration: int, connections: int) -> tuple[float, int]:
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "-H", f"Authorization: Bearer {token}",
         url], capture_output=True, text=True, check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} non-2xx responses: the token was rejected")
    total = re.search(r"(\d+) requests in", out)
    return float(match.group(1)), int(total.group(1)) if total else 0


def run_httpx(url: str, token: str, duration: int, connections: int) -> tuple[float, int]:
    import httpx

    async def go() -> tuple[float, int]:
        done = 0
        deadline = time.perf_counter() + duration
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(limits=limits) as client:
            async def worker() -> None:
                nonlocal done
                while time.perf_counter() < deadline:
                    resp = await client.get(url, headers={"Authorization": f"Bearer {token}"})
                    if resp.status_code != 200:
                        raise RuntimeError(f"HTTP {resp.status_code}")
                    done += 1

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            return done / (time.perf_counter() - start), done

    return asyncio.run(go())


class Server:
    """One uvicorn process serving one variant, kept up for every round."""

    def __init__(self, kind: str, variant: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hello"
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", variant, "--app", kind,
                                      "--port", str(self.port)], start_new_session=True)

    def wait(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=1)  # noqa: S310 - loopback http
                return
            except OSError as exc:
                if getattr(exc, "code", None):  # an HTTP answer (401 without token): up
                    return
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(10)


def load_once(load: str | None, server: Server, token: str, duration: int,
              connections: int) -> tuple[float, float]:
    """Requests per wall-clock second, and requests per CPU-second of the server process.

    The second figure holds up when other processes compete for the CPUs: it counts only the
    time the server itself ran.
    """
    cpu = server.cpu_seconds()
    if load:
        rps, total = run_wrk(load, server.url, token, duration, connections)
    else:
        rps, total = run_httpx(server.url, token, duration, connections)
    used = server.cpu_seconds() - cpu
    return rps, (total / used if used > 0 else 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", choices=["starlette", "raw"], default="starlette")
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.app, args.serve, args.port)
        return 0
    wrk = ensure_wrk()
    print(f"app: {args.app} trivial endpoint, uvicorn 1 worker; load: "
          f"{'wrk -t1 -c' + str(args.connections) if wrk else 'httpx async (wrk unavailable)'}, "
          f"{args.duration}s x {args.rounds} rounds, every variant in each round")
    from keydrift.keyring import Keyring

    token = Keyring.from_secrets(SECRET).sign({"sub": "bench"}, ttl=3600)
    variants = ["plain", "keydrift", "keydrift-metrics", "keydrift-nocache"]
    servers = {v: Server(args.app, v) for v in variants}
    walls: dict[str, list[float]] = {v: [] for v in variants}
    cpus: dict[str, list[float]] = {v: [] for v in variants}
    try:
        for server in servers.values():
            server.wait()
            load_once(wrk, server, token, 1, args.connections)  # warm-up
        for i in range(args.rounds):
            # Back to back and in a rotating order, so that noise from other processes on the
            # machine hits every variant alike; each round gives one paired ratio.
            order = variants[i % len(variants):] + variants[:i % len(variants)]
            for v in order:
                wall, cpu = load_once(wrk, servers[v], token, args.duration, args.connections)
                walls[v].append(wall)
                cpus[v].append(cpu)
    finally:
        for server in servers.values():
            server.stop()
    summary: dict[str, float] = {}
    for label, table in (("req/s (wall clock)", walls), ("req per server CPU-second", cpus)):
        print(f"{label}:")
        for v in variants:
            runs = ", ".join(f"{x:.0f}" for x in table[v])
            print(f"  {v:<17} median {statistics.median(table[v]):>7.0f}   runs {runs}")
        for v in variants[1:]:
            paired = [a / b for a, b in zip(table[v], table["plain"], strict=True) if b]
            summary[f"{label}/{v}"] = statistics.median(paired)
            print(f"  ratio {v} / plain: {statistics.median(paired):.3f} (median of paired "
                  f"rounds: {', '.join(f'{r:.2f}' for r in paired)})")
    with contextlib.suppress(OSError):
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    worst = 1.0
    for v, label in (("keydrift", "middleware"), ("keydrift-metrics", "middleware+metrics")):
        ratio = summary[f"req/s (wall clock)/{v}"]
        ratio_cpu = summary[f"req per server CPU-second/{v}"]
        worst = min(worst, ratio, ratio_cpu)
        print(f"RESULT {label}/plain: wall-clock {ratio:.3f}, per CPU-second {ratio_cpu:.3f} "
              f"(target >= 0.85: {'PASS' if min(ratio, ratio_cpu) >= 0.85 else 'FAIL'})")
    print("the keydrift-nocache rows show the cost of a full HS256 verification on every request")
    return 0 if worst >= 0.85 else 1


if __name__ == "__main__":
    sys.exit(main())
