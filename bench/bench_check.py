"""Benchmark ``keydrift check`` against ``detect-secrets scan`` on the same corpus, same run.

    .venv/bin/python bench/bench_check.py [--files 5000] [--scale 10] [--skip-detect-secrets]

Generates ``bench/corpus/x1`` (N files) and ``bench/corpus/x10`` (10 N files; both gitignored) with
``bench/check_corpus.py``, then times, as a user would run them:

* ``keydrift check CORPUS --format json`` (the CLI: model, rules, report), best of 3;
* ``detect-secrets scan --all-files CORPUS`` once (it takes minutes);
* ``keydrift check`` on the 10x corpus, best of 2.

Prints the speed ratio (acceptance: >= 20) and the scaling factor (acceptance: <= 12).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from check_corpus import generate  # noqa: E402


def _bin(name: str) -> str:
    local = os.path.join(os.path.dirname(sys.executable), name)
    return local if os.path.exists(local) else (shutil.which(name) or name)


def _time(cmd: list[str], runs: int) -> tuple[float, float]:
    """Best wall-clock and best CPU (user+sys of the process and its children) seconds.

    CPU time is reported too because shared machines make wall-clock noisy; detect-secrets
    uses several processes, whose CPU time counts as well.
    """
    best = best_cpu = float("inf")
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        best = min(best, time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_cpu = min(best_cpu, cpu)
        code = proc.returncode
        if code not in (0, 1):
            sys.stderr.write(proc.stderr.decode(errors="replace")[-2000:])
            raise SystemExit(f"{cmd[0]} failed with exit code {code}")
    return best, best_cpu


def _model_time(corpus: str) -> float:
    """CPU seconds of ``build_model`` alone (sources + model, no rules or report), best of 2."""
    code = (
        "import sys, time\n"
        "from keydrift.check import build_model\n"
        "t = time.process_time(); build_model([sys.argv[1]]); print(time.process_time() - t)\n"
    )
    runs = [
        float(subprocess.run([sys.executable, "-c", code, corpus], capture_output=True,
                             text=True, check=True).stdout)
        for _ in range(2)
    ]
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--skip-detect-secrets", action="store_true")
    parser.add_argument("--keep", action="store_true", help="reuse existing corpora")
    args = parser.parse_args()

    small = os.path.join(HERE, "corpus", "x1")
    large = os.path.join(HERE, "corpus", f"x{args.scale}")
    for path, count in ((small, args.files), (large, args.files * args.scale)):
        if not (args.keep and os.path.isdir(path)):
            start = time.perf_counter()
            planted = generate(path, count, seed=7)  # same seed: same mix at both sizes
            print(f"generated {count} files ({len(planted)} planted) in {path} "
                  f"[{time.perf_counter() - start:.1f}s]")

    keydrift = _bin("keydrift")
    check = [keydrift, "check", "--format", "json", "--fail-on", "never"]
    t_small, c_small = _time([*check, small], runs=3)
    print(f"keydrift check, {args.files} files: {t_small:.2f}s wall, {c_small:.2f}s CPU")
    t_large, c_large = _time([*check, large], runs=2)
    print(f"keydrift check, {args.files * args.scale} files: {t_large:.2f}s wall, "
          f"{c_large:.2f}s CPU")
    print(f"scaling: {args.scale}x corpus costs {t_large / t_small:.1f}x the wall time, "
          f"{c_large / c_small:.1f}x the CPU time (acceptance <= 12)")
    m_small, m_large = _model_time(small), _model_time(large)
    print(f"model only (build_model, in-process CPU): {m_small:.2f}s and {m_large:.2f}s, "
          f"{m_large / m_small:.1f}x for {args.scale}x the files")
    if not args.skip_detect_secrets:
        t_ds, c_ds = _time([_bin("detect-secrets"), "scan", "--all-files", small], runs=1)
        print(f"detect-secrets scan, {args.files} files: {t_ds:.2f}s wall, {c_ds:.2f}s CPU")
        print(f"speed ratio: keydrift check is {t_ds / t_small:.0f}x faster in wall time, "
              f"{c_ds / c_small:.0f}x in CPU time (acceptance >= 20)")


if __name__ == "__main__":
    main()
