"""Benchmark: Keyring.verify vs jwt.decode, and `keydrift --version` cold start.

Run alone: ``.venv/bin/python bench/bench_keyring.py``. Prints ratios; exits 1 if a target is
missed (ratio > 1.0, or cold-start median > 150 ms), so it can gate a release by hand.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import timeit

import jwt

from keydrift import Keyring

ROUNDS = 5
NUMBER = 20_000


def bench_verify() -> float:
    keys = [secrets.token_urlsafe(48) for _ in range(3)]
    keyring = Keyring.from_secrets(keys[0], keys[1:])
    token = keyring.sign({"sub": "user-1", "role": "admin"}, ttl=3600)
    # Both sides verify the same token, with the same key, signature and exp checked.
    assert keyring.verify(token)["sub"] == jwt.decode(token, keys[0], algorithms=["HS256"])["sub"]
    ours = min(timeit.repeat(lambda: keyring.verify(token), number=NUMBER, repeat=ROUNDS)) / NUMBER
    plain = min(
        timeit.repeat(lambda: jwt.decode(token, keys[0], algorithms=["HS256"]),
                      number=NUMBER, repeat=ROUNDS)
    ) / NUMBER
    ratio = ours / plain
    print(f"verify: Keyring.verify {ours * 1e6:.2f} us, jwt.decode {plain * 1e6:.2f} us, "
          f"ratio {ratio:.2f} (target <= 1.0, aim 0.7)")
    return ratio


def bench_cold_start(runs: int = 31) -> float:
    exe = shutil.which("keydrift", path=os.path.dirname(sys.executable)) or shutil.which("keydrift")
    cmd = [exe, "--version"] if exe else [sys.executable, "-m", "keydrift", "--version"]
    subprocess.run(cmd, check=True, capture_output=True)  # warm the page cache, not the process
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    median = statistics.median(samples) * 1000
    print(f"cold start: `{' '.join(os.path.basename(c) for c in cmd)}` median {median:.1f} ms over "
          f"{runs} runs (min {min(samples) * 1000:.1f}, max {max(samples) * 1000:.1f}; target <= 150)")
    return median


def main() -> int:
    ratio = bench_verify()
    median = bench_cold_start()
    return 0 if ratio <= 1.0 and median <= 150 else 1


if __name__ == "__main__":
    sys.exit(main())
