"""Item 2: ``--output`` and baseline writes never replace what they were asked to write into.

Run as root in a CI container, ``keydrift check -o /dev/null`` used to replace /dev/null with a
regular file (mkstemp + os.replace); so did any device node, FIFO or symlink. Decided: atomic
replace for regular files and new paths; write-through for FIFOs (opened non-blocking), the null
device, terminals and this process's own descriptors (/dev/stdout, /dev/fd/N); everything else
(symlinks, other devices, sockets, directories) refused with exit 2 and one line.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from .util import cli, keydrift, write_tree

TREE = {"production.env": "JWT_SECRET=short\n"}  # one finding, so every report has content


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "repo", TREE)


def _args(tree: Path, flag: str, target: Path | str) -> list[str]:
    return ["check", str(tree), "--fail-on", "never", "--format", "json", flag, str(target)]


@pytest.mark.parametrize("flag", ["--output", "--write-baseline"])
def test_security_output_to_device_node_is_refused_not_replaced(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    node = tmp_path / "zero"
    os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # like /dev/zero
    code, _out, err = cli(capsys, *_args(tree, flag, node))
    assert code == 2
    assert "character device" in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("keydrift: error:")]) == 1
    info = os.lstat(node)
    assert stat.S_ISCHR(info.st_mode) and info.st_rdev == os.makedev(1, 5)


def test_security_output_to_null_device_writes_through(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null
    code, out, _err = cli(capsys, *_args(tree, "--output", node))
    assert code == 0 and out == ""
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    # and the real one, as CI scripts write it
    code, _out, _err = cli(capsys, *_args(tree, "--output", "/dev/null"))
    assert code == 0 and stat.S_ISCHR(os.lstat("/dev/null").st_mode)


@pytest.mark.parametrize("flag", ["--output", "--write-baseline"])
def test_security_output_to_fifo_without_reader_fails_fast(
    tree: Path, tmp_path: Path, flag: str
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = keydrift(*_args(tree, flag, fifo), timeout=60)  # a blocking open would hang here
    assert proc.returncode == 2
    assert b"no reader" in proc.stderr and b"Traceback" not in proc.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_security_output_to_fifo_with_reader_writes_through(tree: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        # Opened non-blocking so the reader exists before keydrift opens the FIFO; a read of
        # b"" means "no writer yet" until data has come, then "writer closed".
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        ready.set()
        deadline = time.monotonic() + 60
        chunks: list[bytes] = []
        try:
            while time.monotonic() < deadline:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    chunk = None
                if chunk:
                    chunks.append(chunk)
                elif chunk == b"" and chunks:
                    break
                else:
                    time.sleep(0.01)
        finally:
            os.close(fd)
        got.append(b"".join(chunks))

    ready = threading.Event()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert ready.wait(10)
    proc = keydrift(*_args(tree, "--output", fifo), timeout=60)
    reader.join(60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(got[0])["findings"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("flag", ["--output", "--write-baseline"])
def test_security_output_to_symlink_is_neither_followed_nor_replaced(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    outside = tmp_path / "elsewhere" / "victim"
    outside.parent.mkdir()
    outside.write_text("precious\n")
    link = tree / "report.json"
    link.symlink_to(outside)
    code, _out, err = cli(capsys, *_args(tree, flag, link))
    assert code == 2 and "symbolic link" in err
    assert link.is_symlink() and os.readlink(link) == str(outside)
    assert outside.read_text() == "precious\n"


def test_security_output_dash_is_stdout(tree: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _err = cli(capsys, *_args(tree, "--output", "-"))
    assert code == 0 and json.loads(out)["findings"]
    assert not (tmp_path / "-").exists()
    code, out, _err = cli(capsys, *_args(tree, "--write-baseline", "-"))
    assert code == 0 and json.loads(out)["keydrift_baseline"] == 1
    assert not (tmp_path / "-").exists()


def test_output_regular_file_is_replaced_atomically_keeping_mode(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(0o640)
    before = os.lstat(target).st_ino
    code, _out, _err = cli(capsys, *_args(tree, "--output", target))
    assert code == 0
    assert json.loads(target.read_text())["findings"]
    assert stat.S_IMODE(os.lstat(target).st_mode) == 0o640
    assert os.lstat(target).st_ino != before  # a new file renamed over the old one
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".keydrift-")]
