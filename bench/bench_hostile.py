"""Hostile trees (issue 12 item 7): each must be checked in < 3 s and < 150 MB.

    .venv/bin/python bench/bench_hostile.py [--keydrift PATH] [--only NAME]

Generates each tree in a temporary directory and runs ``keydrift check TREE --format json`` on it
as a user would, measuring wall time, CPU time and peak RSS of the process:

* ``nested-interpolation``: a 100 KB ``.env`` whose lines nest ``${A:-${B:-...}}`` 400 levels;
* ``env-file-10-services``: a 100 KB ``env_file`` (with ``${...}`` references) named by 10
  services of a 390-byte compose file;
* ``plain-env-10-services`` / ``plain-env-200-services``: a plain 0.8 MB ``.env`` (no ``$``; one
  line in ten secret-like) named by 10 and by 200 services;
* ``compose-60000-services``: a compose file with 60,000 services and no aliases (must be read,
  not refused as an alias bomb);
* ``secrets-100000-docs``: 100,000 Kubernetes Secret documents in one 9 MB file;
* ``python-brackets-line``: a 4.9 MB Python module whose one long line nests brackets and
  strings (``f("a", ["b", {"c": ...``) between secret assignments, for the statement scan.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

LIMIT_S = 3.0
LIMIT_MB = 150.0


def nested_interpolation(root: str) -> None:
    depth = 400
    body = "".join(f"${{V{i}:-" for i in range(depth)) + "x" + "}" * depth
    lines, size, n = [], 0, 0
    while size < 100 * 1024:
        text = f"JWT_SECRET_{n}={body}"
        lines.append(text)
        size += len(text) + 1
        n += 1
    _write(root, ".env", "\n".join(lines) + "\n")


def _env_file(size: int, with_refs: bool) -> str:
    lines, total, n = [], 0, 0
    while total < size:
        if with_refs and n % 5 == 0:
            text = f"SERVICE_{n}_URL=http://${{HOST_{n % 7}:-localhost}}:{8000 + n % 100}/x\n"
        elif n % 10 == 0:  # one line in ten is secret-like, as in real env files
            text = f"APP_{n}_SECRET=s3cr3t-{n:08d}-0123456789abcdefABCDEF\n"
        else:
            text = f"APP_{n}_SETTING=value-{n}-abcdefghijklmnopqrstuvwxyz\n"
        lines.append(text)
        total += len(text)
        n += 1
    return "".join(lines)


def _compose(services: int, env_file: str) -> str:
    body = "".join(
        f"  s{i}:\n    image: app\n    env_file: {env_file}\n" for i in range(services)
    )
    return "services:\n" + body


def env_file_10_services(root: str) -> None:
    _write(root, "shared.env", _env_file(100 * 1024, with_refs=True))
    _write(root, "docker-compose.yml", _compose(10, "shared.env"))


def plain_env(services: int) -> object:
    def make(root: str) -> None:
        _write(root, ".env", _env_file(800 * 1024, with_refs=False))
        _write(root, "docker-compose.yml", _compose(services, ".env"))

    return make


def compose_60000(root: str) -> None:
    body = "".join(
        f"  svc{i}:\n    image: example/app:{i % 10}\n    environment:\n      LOG_LEVEL: info\n"
        for i in range(60_000)
    )
    _write(root, "docker-compose.yml", "services:\n" + body)


def secrets_100000(root: str) -> None:
    rng = random.Random(12)
    docs = []
    for i in range(100_000):
        value = base64.b64encode(rng.randbytes(12)).decode()  # a random token each
        docs.append(
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s{i}\n"
            f"data:\n  API_TOKEN: {value}\n"
        )
    _write(root, "secrets.yaml", "---\n".join(docs))


def python_brackets_line(root: str) -> None:
    unit = '(f("a", ["b", {"c": '
    depth = 40
    line = "X = " + (unit * depth) + "1" + "}]))" * depth + "\n"
    body = [line if i % 2 else 'JWT_SECRET = "changeme"\n' for i in range(4000)]
    text = "".join(body)
    while len(text) < 4_900_000:
        text += text[: 4_900_000 - len(text)]
    _write(root, "settings.py", text[: text.rfind("\n") + 1])


TREES = {
    "nested-interpolation": nested_interpolation,
    "env-file-10-services": env_file_10_services,
    "plain-env-10-services": plain_env(10),
    "plain-env-200-services": plain_env(200),
    "compose-60000-services": compose_60000,
    "secrets-100000-docs": secrets_100000,
    "python-brackets-line": python_brackets_line,
}


def _write(root: str, rel: str, text: str) -> None:
    with open(os.path.join(root, rel), "w", encoding="utf-8") as fh:
        fh.write(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--keydrift", help="the keydrift executable (default: this venv's)")
    parser.add_argument("--only", choices=sorted(TREES))
    args = parser.parse_args()
    local = os.path.join(os.path.dirname(sys.executable), "keydrift")
    keydrift = args.keydrift or (local if os.path.exists(local) else shutil.which("keydrift") or "keydrift")
    ok = True
    for name, make in TREES.items():
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="kd-hostile-") as root:
            make(root)  # type: ignore[operator]
            size = sum(os.path.getsize(os.path.join(root, f)) for f in os.listdir(root))
            # a fresh process per tree, so RUSAGE_CHILDREN's peak RSS is this run's
            code = (
                "import json, resource, subprocess, sys, time\n"
                "t = time.perf_counter()\n"
                "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
                "w = time.perf_counter() - t\n"
                "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
                "r = json.loads(p.stdout)\n"
                "print(json.dumps([p.returncode, w, u.ru_utime + u.ru_stime, u.ru_maxrss / 1024,"
                " len(r.get('findings', [])), [s.get('reason') for s in r.get('skipped', [])][:3]]))\n"
            )
            proc = subprocess.run(
                [sys.executable, "-c", code, keydrift, "check", root, "--format", "json",
                 "--fail-on", "never"],
                capture_output=True, text=True, timeout=900, check=False,
            )
            if proc.returncode != 0 or not proc.stdout.strip():
                print(f"{name}: runner failed: {proc.stderr[-500:]}")
                ok = False
                continue
            rc, wall, cpu, rss, findings, skipped = json.loads(proc.stdout)
            good = rc in (0, 1) and wall < LIMIT_S and rss < LIMIT_MB
            ok &= good
            print(f"{name:24} {size / 1024:8.0f} KB  {wall:6.2f}s wall  {cpu:6.2f}s CPU  "
                  f"{rss:6.0f} MB  {findings:6d} findings  skipped={skipped}  "
                  f"{'ok' if good else 'OVER LIMIT'}", flush=True)
    print(f"acceptance (each < {LIMIT_S:.0f} s and < {LIMIT_MB:.0f} MB):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
