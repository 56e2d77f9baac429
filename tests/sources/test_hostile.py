"""Hostile input: each file is skipped with a one-line reason (or an InputError when named on
the command line), no traceback, bounded memory, and the other files are still checked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keydrift.check import build_model
from keydrift.errors import InputError

from .util import model_of, write_tree

GOOD = {"good/.env": "JWT_SECRET=still-checked-0123456789abcdefghijk\n"}

ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "services: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)

CASES: dict[str, tuple[str, str | bytes, str]] = {
    "alias bomb": ("docker-compose.yml", ALIAS_BOMB, "alias bomb"),
    "binary": (".env", b"JWT_SECRET=\x00\x01\x02binary\n", "binary"),
    "invalid utf-8": (".env.staging", b"JWT_SECRET=caf\xe9-0123456789abcdef\n", "invalid UTF-8"),
    "tabs": ("compose.yaml", "services:\n\tweb:\n\t\timage: x\n", "tab"),
    "duplicate keys": (
        "k8s/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData:\n"
        "  JWT_SECRET: one-0123456789abcdefghijklmnopqrstu\n"
        "  JWT_SECRET: two-0123456789abcdefghijklmnopqrstu\n",
        "duplicate key 'JWT_SECRET'",
    ),
    "huge line": ("settings.py", "JWT_SECRET = '" + "x" * (600 * 1024) + "'\n", "line longer"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_skipped_with_reason_and_others_checked(tmp_path: Path, case: str) -> None:
    name, content, reason = CASES[case]
    write_tree(tmp_path, {**GOOD, name: content})
    model = model_of(tmp_path)
    skipped = {s.location.path: s.reason for s in model.skipped}
    assert name in skipped, model.skipped
    assert reason in skipped[name]
    assert "\n" not in skipped[name]
    assert "0123456789" not in skipped[name]  # never a value in a reason
    assert "good/.env" in model.files


@pytest.mark.parametrize("case", sorted(CASES))
def test_named_explicitly_is_an_input_error(tmp_path: Path, case: str) -> None:
    name, content, reason = CASES[case]
    write_tree(tmp_path, {name: content})
    with pytest.raises(InputError) as info:
        build_model([str(tmp_path / name)])
    assert reason in info.value.message
    assert "0123456789" not in str(info.value)


def test_200_mb_file_is_skipped_by_size_without_reading(tmp_path: Path) -> None:
    write_tree(tmp_path, GOOD)
    with open(tmp_path / "big.env", "wb") as fh:
        fh.truncate(200 * 1024 * 1024)
    model = model_of(tmp_path)
    (skip,) = model.skipped
    assert skip.location.path == "big.env" and skip.reason == "larger than 1 MB (200 MB)"
    assert "good/.env" in model.files


def test_symlink_loop_and_outside_links(tmp_path: Path) -> None:
    write_tree(tmp_path, GOOD)
    (tmp_path / "loop").symlink_to(tmp_path)  # a directory loop
    (tmp_path / "self.env").symlink_to(tmp_path / "self.env")  # a file loop
    outside = tmp_path.parent / f"{tmp_path.name}-outside.env"
    outside.write_text("JWT_SECRET=outside-0123456789abcdefghijklmnop\n")
    (tmp_path / "outside.env").symlink_to(outside)
    model = model_of(tmp_path)
    reasons = {s.location.path: s.reason for s in model.skipped}
    assert "symlink loop" in reasons["loop"]
    assert "symlink loop" in reasons["self.env"]
    assert "outside the scanned tree" in reasons["outside.env"]
    assert model.files == ["good/.env"]


_UNREADABLE = """
import sys
from keydrift.check import build_model
m = build_model([sys.argv[1]])
print(sorted((s.location.path, s.reason) for s in m.skipped))
print(m.files)
"""


def test_unreadable_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {**GOOD, "locked.env": "JWT_SECRET=x-0123456789abcdefghijklmnopqr\n"})
    os.chmod(tmp_path / "locked.env", 0)
    cmd = [sys.executable, "-c", _UNREADABLE, str(tmp_path)]
    if os.geteuid() == 0:
        # root reads anything; without these two capabilities it obeys file modes like anyone
        setpriv = shutil.which("setpriv")
        assert setpriv, "tests run as root need util-linux setpriv"
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "('locked.env', 'file not readable (permission denied)')" in proc.stdout
    assert "good/.env" in proc.stdout


def test_fifo_is_not_opened(tmp_path: Path) -> None:
    write_tree(tmp_path, GOOD)
    os.mkfifo(tmp_path / ".env.staging")  # opening it for reading would block forever
    model = model_of(tmp_path)
    assert [(s.location.path, s.reason) for s in model.skipped] == [
        (".env.staging", "not a regular file")
    ]


_DUMP_DOC = """apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: prod}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: api
        image: registry.example.com/api:1
        env:
        - {name: LOG_LEVEL, value: info}
        - name: JWT_SECRET
          valueFrom: {secretKeyRef: {name: jwt, key: JWT_SECRET}}
---
"""

# VmHWM is the peak RSS of this process's own address space. ru_maxrss is not: Linux carries it
# across fork and exec, so a child of a large pytest process would report the parent's peak.
_MEMORY = """
import sys
from keydrift.check import build_model
m = build_model([sys.argv[1]])
print(len(m.skipped), len(m.files))
with open("/proc/self/status") as fh:
    print(next(line.split()[1] for line in fh if line.startswith("VmHWM:")))
"""


def test_peak_memory_with_every_hostile_file(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = dict(GOOD)
    for i, (name, content, _reason) in enumerate(CASES.values()):
        files[f"case{i}/{name}"] = content
    write_tree(tmp_path, files)
    with open(tmp_path / "big.env", "wb") as fh:
        fh.truncate(200 * 1024 * 1024)
    with open(tmp_path / "cluster-dump.yaml", "w") as fh:  # 9 MB, under the 10 MB cap
        while fh.tell() < 9 * 1024 * 1024:
            fh.write(_DUMP_DOC)
    with open(tmp_path / "huge.env", "w") as fh:  # over the 1 MB cap for .env files
        fh.write("X=1\n" * (512 * 1024))
    proc = subprocess.run(
        [sys.executable, "-c", _MEMORY, str(tmp_path)], capture_output=True, text=True, check=True
    )
    skipped, files = map(int, proc.stdout.split()[:2])
    peak_kb = int(proc.stdout.split()[2])
    # each case, big.env and huge.env; and the dump's documents past MAX_DOCUMENTS
    assert skipped == len(CASES) + 3
    assert files == 2  # good/.env and the dump
    assert peak_kb < 300 * 1024, f"peak RSS {peak_kb // 1024} MB"


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"JWT_SECRET=a\x00b\n", "binary"), (b"JWT_SECRET=caf\xe9\n", "invalid UTF-8")],
)
def test_hostile_stdin_is_an_input_error(data: bytes, reason: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "keydrift", "check", "-"], input=data, capture_output=True,
        check=False,
    )
    assert proc.returncode == 2
    assert reason in proc.stderr.decode()
    assert b"Traceback" not in proc.stderr


def test_long_line_check_matches_splitting_into_lines() -> None:
    """``check_bytes`` finds a too-long line by looking at newline-free blocks only; it must
    refuse exactly the texts whose longest line is over the limit."""
    import random

    from keydrift.check.discovery import MAX_LINE_BYTES, UnreadableFile, check_bytes

    rng = random.Random(3)
    sizes = [MAX_LINE_BYTES - 1, MAX_LINE_BYTES, MAX_LINE_BYTES + 1, MAX_LINE_BYTES // 2,
             MAX_LINE_BYTES * 2, 10, 0]
    refused = 0
    for _ in range(60):
        parts = [b"x" * rng.choice(sizes) for _ in range(rng.randint(1, 5))]
        data = b"\n".join(parts) + rng.choice([b"", b"\n"])
        want = max(len(line) for line in data.split(b"\n")) > MAX_LINE_BYTES
        try:
            check_bytes(data, limit=len(data) + 1)
            got = False
        except UnreadableFile as exc:
            got = "line longer" in str(exc.reason)
        assert got == want
        refused += want
    assert 5 < refused < 55


def test_kubernetes_file_read_up_to_its_document_bound(tmp_path: Path) -> None:
    """100,000 Secret documents of distinct values took 11 s: a file is read up to
    MAX_DOCUMENTS, and the rest is reported as not checked (never dropped silently)."""
    from keydrift.sources.kubernetes import MAX_DOCUMENTS

    docs = [
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s{i}\nstringData:\n"
        f"  JWT_SECRET: value-{i:06d}-abcdefghijklmnopqrstuvwxyz\n"
        for i in range(MAX_DOCUMENTS + 5)
    ]
    write_tree(tmp_path, {"secrets.yaml": "---\n".join(docs)})
    model = build_model([str(tmp_path)], jobs=1)
    reasons = [s.reason for s in model.skipped if s.location.path == "secrets.yaml"]
    assert reasons == [f"more than {MAX_DOCUMENTS} documents; the rest are not checked"]
    stores = {a.value.reveal_text() for a in model.assignments if a.value is not None}
    assert f"value-{MAX_DOCUMENTS - 1:06d}-abcdefghijklmnopqrstuvwxyz" in stores
    assert f"value-{MAX_DOCUMENTS:06d}-abcdefghijklmnopqrstuvwxyz" not in stores


def test_kubernetes_kind_that_is_not_a_string_is_no_object(tmp_path: Path) -> None:
    """`kind: {name: api}` (a flow mapping) made the reader hash a mapping and crash; found by
    bench/fuzz_check.py. Such a document is no object kubectl would apply: nothing is read."""
    write_tree(tmp_path, {
        "k8s/a.yaml": "apiVersion: v1\nkind: {name: api, namespace: production}\ndata:\n"
                      "  JWT_SECRET: a0Q4dlEybVo3eFI0dE45cEwzd1M2eUIxY0Y1aEowZ1U=\n",
        "k8s/b.yaml": "apiVersion: v1\nkind: [Secret]\nstringData:\n  JWT_SECRET: x\n",
    })
    model = build_model([str(tmp_path)], jobs=1)
    assert model.assignments == [] and model.skipped == []
