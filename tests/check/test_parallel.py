"""The forked reader: the same result as reading everything in one process, real forks, and a
bounded wait when the child fails or hangs."""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from pathlib import Path

import pytest

from keydrift.check import build_model, run_check
from keydrift.check.parallel import SplitRun, can_fork
from keydrift.report.interface import render

from .deploykit import tree

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs Linux, two CPUs and no threads")


def _large_tree(root: Path) -> Path:
    """Enough Python, Kubernetes and shell bytes to be worth a fork, with secrets that reach
    findings from both processes' shares, a script only a README names (read early by the
    compose-stack scan), and a compose file named like a Kubernetes manifest."""
    rng = random.Random(5)
    files: dict[str, str] = {
        ".env": "JWT_SECRET=" + "".join(rng.choice("abcdef0123456789") for _ in range(64)) + "\n",
        ".env.staging": "JWT_SECRET=your-secret-here\n",
        "docker-compose.yml": (
            "services:\n  api:\n    image: acme/api\n    env_file: .env\n"
            "  worker:\n    image: acme/worker\n    environment:\n      JWT_SECRET: other-value-1\n"
        ),
        "README.md": "Run `docker compose -f docker-compose.yml -f deploy/compose.yml up`,"
                     " then `sh scripts/plain.sh`.\n",
        "scripts/plain.sh": "#!/bin/sh\necho no assignments here\n" * 50,
        "deploy/compose.yml": "services:\n  api:\n    environment:\n      JWT_SECRET: x\n",
        "k8s/default.yml": "services:\n  web:\n    image: acme/web\n    environment:\n"
                           "      SECRET_KEY: changeme\n",
    }
    for i in range(120):
        body = "".join(f"def handler_{j}(token):\n    return token\n\n" for j in range(300))
        files[f"app/mod{i:03}.py"] = (
            f'"""Module {i}."""\nimport os\nJWT_SECRET = "{i:04}-placeholder-your-secret"\n'
            f'API_TOKEN = os.getenv("API_TOKEN", "{rng.getrandbits(128):032x}")\n' + body
        )
    for i in range(40):
        files[f"k8s/app{i:02}.yaml"] = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\nstringData:\n"
            f"  JWT_SECRET: value-{i % 3}-{'q' * 40}\n" + "# filler\n" * 400
        )
        files[f"scripts/deploy{i:02}.sh"] = (
            f"#!/bin/sh\nexport JWT_SECRET=script-{i}-{'z' * 30}\n" + "echo step\n" * 600
        )
    return tree(root, files)


def test_forked_reading_gives_the_same_report_as_one_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = _large_tree(tmp_path / "repo")
    single = run_check([str(root)], jobs=1)
    with caplog.at_level(logging.DEBUG, logger="keydrift.check"):
        split = run_check([str(root)])
    assert any("files done in a forked child" in r.message for r in caplog.records), [
        r.message for r in caplog.records]
    assert len(single.findings) > 20  # both shares carry findings
    assert render(split, "json") == render(single, "json")
    assert json.loads(render(split, "json"))["summary"]["files_checked"] > 200


def test_rules_shared_with_a_forked_child_give_the_same_report(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A model large enough to share its rules: each rule runs whole in one process, and the
    findings merge in rule order (first of two findings with one id kept, as in one process)."""
    rng = random.Random(9)
    files = {}
    for env in ("staging", "production", "dev"):
        lines = [f"SERVICE_{i}_API_TOKEN={rng.getrandbits(160):040x}" for i in range(700)]
        lines += [f"SERVICE_{i}_PASSWORD=changeme-{i % 3}" for i in range(120)]
        files[f".env.{env}"] = "\n".join(lines) + "\n"
        files[f"deploy/{env}.sh"] = "".join(
            f"export SERVICE_{i}_API_TOKEN={rng.getrandbits(160):040x}\n" for i in range(0, 700, 7))
    root = tree(tmp_path / "repo", files)
    assert len(build_model([str(root)], jobs=1).assignments) >= 2_000  # over the threshold
    single = run_check([str(root)], jobs=1)
    with caplog.at_level(logging.DEBUG, logger="keydrift.check"):
        split = run_check([str(root)])
    assert any("rules done in a forked child" in r.message for r in caplog.records), [
        r.message for r in caplog.records]
    assert len({f.rule for f in single.findings}) >= 3 and len(single.findings) > 100
    assert render(split, "json") == render(single, "json")


def test_a_check_leaves_the_cyclic_collector_as_it_found_it(tmp_path: Path) -> None:
    import gc

    root = tree(tmp_path / "repo", {".env": "JWT_SECRET=changeme\n"})
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            run_check([str(root)], jobs=1)
            assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_what_is_checked_does_not_depend_on_what_was_read_before(tmp_path: Path) -> None:
    """The compose-stack scan reads scripts a README names; a script with nothing for its
    reader was then 'checked' in one process and not in the other."""
    root = _large_tree(tmp_path / "repo")
    for jobs in (1, None):
        files = build_model([str(root)], jobs=jobs).files
        assert "scripts/plain.sh" not in files
        assert "scripts/deploy00.sh" in files


def test_jobs_one_never_forks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = _large_tree(tmp_path / "repo")
    with caplog.at_level(logging.DEBUG, logger="keydrift.check"):
        run_check([str(root)], jobs=1)
    assert not [r for r in caplog.records if "forked" in r.message]


def test_a_failing_child_is_replaced_by_local_work() -> None:
    parent = os.getpid()

    def work(i: int) -> int:
        if os.getpid() != parent:
            raise RuntimeError("only in the child")
        return i * i

    run = SplitRun([1, 3, 5], work)
    run.start()
    assert run.forked
    assert run.collect(0.0) == {1: 1, 3: 9, 5: 25}


def test_a_hanging_child_is_killed_and_reaped_within_the_bound() -> None:
    parent = os.getpid()

    def work(i: int) -> int:
        if os.getpid() != parent:
            time.sleep(60)
        return -i

    run = SplitRun([2, 4], work, min_wait_s=0.5)
    run.start()
    pid = run._pid
    assert pid is not None
    began = time.monotonic()
    assert run.collect(0.0) == {2: -2, 4: -4}
    assert time.monotonic() - began < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left behind


def test_child_results_come_back_with_secret_values_intact() -> None:
    from keydrift.secret import SecretValue

    def work(i: int) -> list[SecretValue]:
        return [SecretValue(f"value-{i}-{'k' * 20}")]

    run = SplitRun([7], work)
    run.start()
    got = run.collect(0.0)
    assert got[7] == [SecretValue(f"value-7-{'k' * 20}")]


def test_abandon_reaps_the_child() -> None:
    run = SplitRun([1], lambda i: time.sleep(60))
    run.start()
    pid = run._pid
    assert pid is not None
    run.abandon()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, args=(10,))
    thread.start()
    try:
        assert not can_fork()
    finally:
        stop.set()
        thread.join(10)
    assert can_fork()


def test_every_reader_result_crosses_the_pipe(tmp_path: Path) -> None:
    """Whatever a reader can put in its result must load through the restricted unpickler (a
    compose service's settings, a ChainMap, once made the child's whole share fall back)."""
    import io
    import pickle

    from keydrift.check.parallel import _ResultPickler, _ResultUnpickler

    assets = Path(__file__).resolve().parents[1] / "assets"
    for root in (_large_tree(tmp_path / "repo"), assets):
        model = build_model([str(root)], jobs=1)
        parts = [model.services, model.assignments, model.code, model.skipped, model.units]
        assert model.services and model.assignments
        out = io.BytesIO()
        _ResultPickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(parts)
        assert _ResultUnpickler(io.BytesIO(out.getvalue())).load() == parts


def test_a_queue_larger_than_a_default_pipe_is_shared_whole() -> None:
    """40,000 jobs are 160 KB of queue, more than a pipe holds by default (64 KB): the pipe is
    enlarged, and every job is done exactly once by one of the two processes."""
    jobs = list(range(40_000))

    def work(i: int) -> int:
        time.sleep(0.00002)
        return i * 2

    run = SplitRun(jobs, work)
    run.start()
    assert run.forked
    mine = {}
    while (job := run.take()) is not None:
        mine[job] = work(job)
    theirs = run.collect(0.0)
    assert not set(mine) & set(theirs)  # no job done twice
    assert {**theirs, **mine} == {i: i * 2 for i in jobs}
    assert mine and theirs  # both processes took jobs


def test_descriptors_numbered_past_1024_do_not_break_the_fork() -> None:
    """A caller holding many files: the pipes to the child get descriptor numbers past 1024,
    which select() refuses; the results still come back from the child, whole."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1200
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        run = SplitRun(list(range(200)), lambda i: i * 3)
        run.start()
        assert run.forked and run._fd is not None and run._fd >= 1024
        mine = {}
        while (job := run.take()) is not None:
            mine[job] = job * 3
        theirs = run.collect(0.0)
        assert {**theirs, **mine} == {i: i * 3 for i in range(200)}
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
