"""Differential fuzz of keydrift's compose-rules dotenv parser against compose-go itself.

    .venv/bin/python bench/fuzz_compose_dotenv.py --oracle PATH [--files 3000] [--seed 1]

``PATH`` is a small Go program built locally from compose-go's ``dotenv`` package (not shipped
with keydrift): ``oracle FILE [K=V ...]`` prints ``KEY <json value>`` per binding, or
``ERROR <json message>``, with the ``K=V`` arguments as the lookup. Each generated file is parsed
by both; the script prints the number of files, lines and disagreements (with the first few).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

from keydrift.sources._support.composeenv import (
    ComposeEnvError,
    parse_compose_env,
    resolve_compose_env,
)

KEYS = ["K", "JWT_SECRET", "a", "_x1", "K.D", "k-d", "Ключ", "K[0]", "1D", "export"]
BAD_KEYS = ["A B", "K$", "K#"]
VALUES = [
    "", "v", "a b", "a #c", "a\t#c", "a#c", "# c", "'s$q ${A}'", '"d\\$q"', '"\\0101\\0400\\01"',
    '"\\a\\b\\c\\f\\n\\r\\t\\v\\\\\\"\\x"', "'a\\'b'", '"a\\"b"',
    '"multi\nline"', "'multi\nline'", '"a" junk', "'a'#c", "back\\slash", "$A", "$A-x", "${A}",
    "${A:-d}", "${A-d}", "${A:+alt}", "${A+alt}", "${E:-d}", "${E-d}", "${U:-d}", "${U-d}",
    "${A:?need}", "${A:-${B:-x}}", "${A:-{x}}", "${U:-${U2}x}y",
    "$$A", "a$", "${A}}", "${A:-x}}", "${A:-a}b${B}", '"${A:-a b}"', "${U:-$A}",
    "é", "\u00a0x\u00a0", "x\r", "$1", "${_}", "$ſ", "${A:?need}", "${U:-\\$A}",
]
# values compose-go refuses (a whole file then fails): rarer, so most files exercise values
BAD_VALUES = [
    "'unterminated", '"unterminated', "${U:?need}", "${ A}", "${A", "${A:x}", "${U:-a\nb}", "${U:-",
]
SEPS = ["=", "=", "=", " = ", "=\t", ":", ": ", "=", ""]
PREFIXES = ["", "", "export ", "export\t", "  ", "\t"]
EXTRA = ["", "# comment", "  # c", "\t", "\u3000", "junk #x"]
LOOKUP = {"A": "1", "B": "two", "E": "", "K": "inherited"}


def _line(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return rng.choice(EXTRA)
    key = rng.choice(BAD_KEYS) if rng.random() < 0.02 else rng.choice(KEYS)
    value = rng.choice(BAD_VALUES) if rng.random() < 0.04 else rng.choice(VALUES)
    return rng.choice(PREFIXES) + key + rng.choice(SEPS) + value


def _ours(text: str) -> tuple[str, object]:
    try:
        values = resolve_compose_env(parse_compose_env(text), LOOKUP.get)
    except ComposeEnvError:
        return ("ERROR", None)
    out: dict[str, str] = {}
    for v in values:
        if v.required_missing:
            return ("ERROR", None)
        if v.value is not None:
            out[v.binding.key] = v.value
    return ("OK", out)


def _oracle(oracle: str, path: str) -> tuple[str, object]:
    proc = subprocess.run(
        [oracle, path, *(f"{k}={v}" for k, v in LOOKUP.items())],
        capture_output=True, text=True, timeout=20, check=False,
    )
    out: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("ERROR "):
            return ("ERROR", None)
        key, _, value = line.partition(" ")
        out[key] = json.loads(value)
    return ("OK", out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--oracle", required=True)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    bad: list[str] = []
    lines = 0
    errors = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "f.env")
        for _ in range(args.files):
            count = rng.randint(1, 6)
            text = "\n".join(_line(rng) for _ in range(count)) + rng.choice(["\n", "", "\r\n"])
            lines += count
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            expected = _oracle(args.oracle, path)
            got = _ours(text)
            errors += expected[0] == "ERROR"
            if got != expected:
                bad.append(f"{text!r}: compose-go {expected!r}, keydrift {got!r}")
    print(f"{args.files} files, {lines} lines ({errors} files refused by compose-go): "
          f"{len(bad)} disagreements")
    for line in bad[:15]:
        print("  " + line)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
