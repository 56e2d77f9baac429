"""Fuzz the untrusted token decoder. Run: ``python bench/fuzz_decode.py [COUNT] [SEED]``.

Generates COUNT inputs (default 100,000): random bytes and text, valid tokens with mutations
(flipped, inserted and deleted characters, segment swaps, wrong separators), tokens whose segments
are random JSON, deep nesting and huge numbers, JWE-shaped and prefixed/quoted tokens. For each it
asserts that :func:`keydrift.explain.decode_token` returns or raises
:class:`~keydrift.errors.KeydriftError` (nothing else escapes) and that no input takes longer than
a second (a watchdog timer interrupts a hang). Every 10th input also goes through the whole
``explain`` + JSON/text rendering path. Prints the count, the failures and the slowest input's
time; exits non-zero on any failure.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import sys
import time
import traceback
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from keydrift.errors import KeydriftError
from keydrift.explain import (
    Candidate,
    Expectations,
    decode_token,
    explain,
    render_text,
    to_json_text,
)
from keydrift.secret import SecretValue

PER_INPUT_SECONDS = 1.0
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
NASTY = ["+", "/", "=", ".", " ", "\n", "\x00", "\x1b[31m", "é", "\u202e", "\ud800", "{", '"']


HS_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256"}').rstrip(b"=").decode("ascii")


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rand_json(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(9 if depth < 4 else 5)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([rng.randint(-(2**63), 2**63), rng.random() * 1e300, 0, -1])
    if pick in (3, 4):
        return "".join(rng.choice(B64 + "".join(NASTY)) for _ in range(rng.randrange(12)))
    if pick in (5, 6):
        return [rand_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["alg", "kid", "typ", "crit", "jwk", "jku", "x5u", "enc", "exp", "nbf", "iat", "aud",
            "iss", "sub"]
    return {rng.choice(keys): rand_json(rng, depth + 1) for _ in range(rng.randrange(6))}


def good_token(rng: random.Random) -> str:
    import hashlib
    import hmac

    header = {"alg": rng.choice(["HS256", "HS384", "HS512", "none", "RS256"]), "typ": "JWT"}
    if rng.random() < 0.3:
        header["kid"] = "".join(rng.choice(B64) for _ in range(rng.randrange(1, 50)))
    claims = {"sub": "alice", "exp": rng.randint(0, 2**33), "iat": rng.randint(0, 2**33)}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    sig = hmac.new(b"k" * 32, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(sig)}"


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(len(chars) + 1)
        if op == 0 and chars:
            chars[min(pos, len(chars) - 1)] = rng.choice(B64 + "".join(NASTY))
        elif op == 1:
            chars.insert(pos, rng.choice(NASTY + list(B64)))
        elif op == 2 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op == 3:
            chars = chars[: rng.randrange(len(chars) + 1)]
        elif op == 4:
            parts = "".join(chars).split(".")
            rng.shuffle(parts)
            chars = list(".".join(parts))
        else:
            chars = list(rng.choice(["Bearer ", '"', "'", "Authorization: Bearer "])
                         + "".join(chars) + rng.choice(["", '"', "'", "\n"]))
    return "".join(chars)


def generate(rng: random.Random) -> str | bytes:
    kind = rng.randrange(10)
    if kind == 0:
        return rng.randbytes(rng.randrange(200))
    if kind == 1:
        return "".join(chr(rng.randrange(0x30000)) for _ in range(rng.randrange(80)))
    if kind in (2, 3, 4):
        return mutate(rng, good_token(rng))
    if kind == 5:
        return good_token(rng)
    if kind == 6:
        segs = [b64url(json.dumps(rand_json(rng)).encode()) for _ in range(rng.choice([3, 3, 5]))]
        return ".".join(segs)
    if kind == 7:
        depth = rng.randrange(10, 3000)
        nested = ("[" * depth + "]" * depth) if rng.random() < 0.5 else (
            '{"a":' * depth + "1" + "}" * depth)
        return f"{HS_HEADER}.{b64url(nested.encode())}.AAAA"
    if kind == 8:
        big = "9" * rng.randrange(4000, 6000)
        payload = b64url(('{"exp":' + big + "}").encode())
        return f"{HS_HEADER}.{payload}.AA"
    return ".".join("".join(rng.choice(B64 + "+/=") for _ in range(rng.randrange(30)))
                    for _ in range(rng.randrange(1, 7)))


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    rng = random.Random(seed)
    candidate = Candidate(id="fuzz", origin="flag_env", value=SecretValue(b"k" * 32),
                          variable="FUZZ_SECRET", role="expected")
    signal.signal(signal.SIGALRM, _alarm)
    failures = 0
    decoded = malformed = 0
    slowest = 0.0
    slowest_input: str | bytes = b""
    start = time.perf_counter()
    for i in range(count):
        data = generate(rng)
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, PER_INPUT_SECONDS)
        try:
            try:
                decode_token(data)
                decoded += 1
            except KeydriftError:
                malformed += 1
            if i % 10 == 0:
                result = explain(data, [candidate], expectations=Expectations(), now=1.8e9,
                                 weak_audit=False)
                json.loads(to_json_text(result))
                render_text(result)
        except Hang:
            failures += 1
            print(f"HANG on input {i}: {data[:80]!r}", file=sys.stderr)
        except Exception:
            failures += 1
            print(f"ESCAPED on input {i}: {data[:80]!r}", file=sys.stderr)
            traceback.print_exc()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        took = time.perf_counter() - t0
        if took > slowest:
            slowest, slowest_input = took, data
    elapsed = time.perf_counter() - start
    print(f"fuzzed {count:,} inputs in {elapsed:.1f} s (seed {seed}): {decoded:,} decoded, "
          f"{malformed:,} malformed, {failures} failures; slowest input {slowest * 1000:.1f} ms "
          f"({len(slowest_input)} chars, starting {slowest_input[:40]!r})")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
