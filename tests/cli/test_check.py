"""``keydrift check`` end to end: exit codes, formats, stdin, --output, baselines, canaries."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keydrift.check import build_model
from keydrift.cli.main import main
from keydrift.model.types import Model
from tests.conftest import untracked_copy

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "tests" / "assets" / "rules"
EXAMPLES = ROOT / "examples"
RULE_IDS = sorted(p.name for p in ASSETS.glob("KD*"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def git_repo(src: Path, dest: Path, *, ignore: tuple[str, ...] = ()) -> Path:
    shutil.copytree(src, dest)
    if ignore:
        (dest / ".gitignore").write_text("".join(f"{p}\n" for p in ignore))
    cfg = ["-c", "user.email=kd@example.invalid", "-c", "user.name=t", "-c",
           "commit.gpgsign=false", "-c", "init.defaultBranch=main"]
    subprocess.run(["git", *cfg, "init", "-q", str(dest)], check=True)
    subprocess.run(["git", *cfg, "-C", str(dest), "add", "-A"], check=True)
    subprocess.run(["git", *cfg, "-C", str(dest), "commit", "-qm", "x"], check=True)
    return dest


def bad_fixture(rule_id: str, tmp_path: Path) -> Path:
    src = ASSETS / rule_id / "bad"
    if rule_id in ("KD401", "KD402"):
        return git_repo(src, tmp_path / rule_id)
    return src


# --- exit codes ----------------------------------------------------------------------------------

def test_findings_exit_1_and_report_to_stdout_summary_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, str(EXAMPLES / "incident-replicas"))
    assert code == 1
    # One cause, one finding: three replicas each generating a key is KD102 alone.
    assert "KD102 per-replica-secret" in out and "KD101" not in out
    assert "keydrift check:" not in out
    assert err.strip().splitlines() == ["keydrift check: 1 error [KD102] (1 file checked)"]


def test_clean_example_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(EXAMPLES / "clean"))
    assert (code, out) == (0, "")
    assert err.startswith("keydrift check: no findings")


@pytest.mark.parametrize(
    ("fail_on", "expected"), [("error", 0), ("warning", 1), ("never", 0)]
)
def test_fail_on_thresholds_with_a_warning_only_tree(
    capsys: pytest.CaptureFixture[str], fail_on: str, expected: int, tmp_path: Path
) -> None:
    tree = untracked_copy(ASSETS / "KD501" / "bad", tmp_path)
    code, out, _ = run(capsys, str(tree), "--fail-on", fail_on)
    assert "warning KD501" in out
    assert code == expected


def test_fail_on_never_with_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(EXAMPLES / "incident-replicas"), "--fail-on", "never")
    assert code == 0 and "error KD102" in out


@pytest.mark.parametrize(
    "args",
    [
        ["/nonexistent/keydrift-path"],
        [".", "--format", "xml"],
        [".", "--fail-on", "sometimes"],
        [".", "--env", "not an env!"],
        ["-", "-"],
        [".", "--config", "/nonexistent/keydrift.toml"],
        [".", "--baseline", "/nonexistent/baseline.json"],
        [".", "--no-such-option"],
    ],
)
def test_usage_and_input_errors_exit_2_without_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(ASSETS / "KD101" / "good")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, out, err = run(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err and out == ""
    assert err.strip()


def test_invalid_config_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "keydrift.toml").write_text('severity = {KD101 = "loud"}\n')
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2 and "KD101" in err


def test_config_severity_off_and_override(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "incident-replicas", tmp_path / "repo")
    cfg = tmp_path / "kd.toml"
    cfg.write_text('[severity]\nKD101 = "off"\nKD102 = "warning"\n')
    code, out, _ = run(capsys, str(tmp_path / "repo"), "--config", str(cfg))
    assert code == 0
    assert "KD101" not in out and "warning KD102" in out


# --- formats, stdin, --output ---------------------------------------------------------------------

def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(EXAMPLES / "incident-staging-placeholder"), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["schema_version"] == 1
    rules = {f["rule"] for f in doc["findings"]}
    assert {"KD202", "KD301"} <= rules
    assert all(f["environment"] == "staging" for f in doc["findings"])


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    text = (EXAMPLES / "incident-replicas" / "docker-compose.yml").read_text()
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code, out, _ = run(capsys, "-", "--format", "json")
    doc = json.loads(out)
    assert code == 1
    assert {f["rule"] for f in doc["findings"]} == {"KD102"}
    assert {loc["path"] for f in doc["findings"] for loc in f["locations"]} == {"-"}


def test_output_file_is_written_atomically(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    target = tmp_path / "report.sarif"
    target.write_text("old")
    code, out, err = run(capsys, str(EXAMPLES / "incident-replicas"), "--format", "sarif",
                         "--output", str(target))
    assert code == 1 and out == "" and "1 error" in err
    assert json.loads(target.read_text())["version"] == "2.1.0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.sarif"]  # no temp file left


def test_output_to_missing_directory_is_an_input_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, str(EXAMPLES / "clean"), "-o", str(tmp_path / "no" / "r.json"))
    assert code == 2 and "cannot write" in err


def test_env_filter(capsys: pytest.CaptureFixture[str]) -> None:
    target = str(EXAMPLES / "incident-staging-placeholder")
    code, out, _ = run(capsys, target, "--env", "stg")  # aliases are normalized
    assert code == 1 and "== staging ==" in out
    # An environment the tree does not have would check nothing: a usage error, not a pass.
    code, out, err = run(capsys, target, "--env", "production")
    assert (code, out) == (2, "")
    assert "no environment 'production'" in err and "known environments: staging" in err


def test_env_filter_keeps_cross_environment_reuse(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(ASSETS / "KD303" / "bad"), "--env", "staging")
    assert code == 1 and "KD303" in out


def test_colour_never_when_piped() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "keydrift", "check", str(EXAMPLES / "incident-replicas")],
        capture_output=True, text=True, check=False,
        env={k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")},
    )
    assert proc.returncode == 1
    assert "\x1b[" not in proc.stdout and "KD102" in proc.stdout
    assert proc.stderr.startswith("keydrift check: 1 error [KD102]")


def test_the_console_entry_writes_everything_before_its_fast_exit(tmp_path: Path) -> None:
    """``entry()`` skips the interpreter's teardown: a large report on a pipe, the summary on
    stderr and the exit code must all still arrive whole."""
    lines = [f"SERVICE_{i}_API_TOKEN=changeme-{i}" for i in range(3000)]
    (tmp_path / ".env.production").write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "keydrift", "check", str(tmp_path), "--format", "json"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 1
    report = json.loads(proc.stdout)  # complete: a truncated report would not parse
    assert len(report["findings"]) >= 3000 and len(proc.stdout) > 1_000_000
    assert proc.stderr.startswith("keydrift check: ") and proc.stderr.endswith(")\n")


def test_forced_colour(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, str(EXAMPLES / "incident-replicas"), "--color")
    assert "\x1b[" in out


# --- baselines ------------------------------------------------------------------------------------

def test_write_then_apply_baseline(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    target = str(EXAMPLES / "incident-staging-placeholder")
    code, _, err = run(capsys, target, "--write-baseline", str(base))
    assert code == 0 and "wrote" in err
    doc = json.loads(base.read_text())
    assert doc["keydrift_baseline"] == 1 and doc["findings"]
    assert all(re.fullmatch(r"[0-9a-f]{20}", e["id"]) for e in doc["findings"])
    code, out, err = run(capsys, target, "--baseline", str(base))
    assert (code, out) == (0, "")
    assert f"{len(doc['findings'])} in baseline" in err
    # A new problem is not covered by the old baseline.
    copy = tmp_path / "repo"
    shutil.copytree(target, copy)
    (copy / "production.env").write_text("JWT_SECRET=Xk9#mQ2vL7pR\n")
    code, out, _ = run(capsys, str(copy), "--baseline", str(base))
    assert code == 1 and "KD302" in out and "KD201" not in out


def test_corrupt_baseline_is_an_input_error(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    base.write_text("{not json")
    code, _, err = run(capsys, str(EXAMPLES / "clean"), "--baseline", str(base))
    assert code == 2 and "baseline" in err


# --- canaries: no secret value in any output -----------------------------------------------------

REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def secret_texts(model: Model) -> set[str]:
    """Every value the model holds, as text (the things that must never be printed)."""
    out: set[str] = set()
    for a in model.assignments:
        if a.variable.endswith("_FILE"):
            continue  # a path to the secret (shown as provenance), not the secret
        for v in (a.value, a.raw, *(r.value for r in a.readers)):
            if v is not None:
                text = v.reveal_text().strip()
                # A raw `${JWT_SECRET}` is the reference the file shows (provenance names it),
                # not a value.
                if len(text) >= 10 and not REFERENCE.fullmatch(text):
                    out.add(text)
    return out


@pytest.mark.parametrize("rule_id", RULE_IDS)
@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "html"])
def test_no_secret_value_in_any_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, rule_id: str, fmt: str
) -> None:
    path = bad_fixture(rule_id, tmp_path)
    values = secret_texts(build_model([str(path)]))
    canaries = {v for v in values if "kdcanary" in v}
    assert canaries, f"the {rule_id} fixture must plant a kdcanary secret"
    base = tmp_path / "baseline.json"
    code, out, err = run(capsys, str(path), "--format", fmt, "--color", "--fail-on", "warning")
    assert code == 1
    _, _, err2 = run(capsys, str(path), "--write-baseline", str(base))
    blob = out + err + err2 + base.read_text()
    assert "kdcanary" not in blob.lower()
    leaked = sorted(v[:6] + "..." for v in values if v in blob)
    assert not leaked, f"values leaked into {fmt} output: {leaked}"


# --- the examples and the repository itself -----------------------------------------------------

@pytest.mark.parametrize(
    ("example", "rules"),
    [
        ("incident-replicas", {"KD102"}),
        ("incident-staging-placeholder", {"KD202", "KD301"}),
        ("clean", set()),
    ],
)
def test_examples(capsys: pytest.CaptureFixture[str], example: str, rules: set[str]) -> None:
    code, out, _ = run(capsys, str(EXAMPLES / example), "--format", "json")
    got = {f["rule"] for f in json.loads(out)["findings"]}
    assert got >= rules if rules else got == set()
    assert code == (1 if rules else 0)


def test_keydrift_repository_has_no_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(ROOT), "--format", "json")
    doc = json.loads(out)
    assert [(f["rule"], [loc["path"] for loc in f["locations"]]) for f in doc["findings"]] == []
    assert code == 0, err


def test_pre_commit_hook_runs_check() -> None:
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "keydrift-check" and hook["entry"] == "keydrift check"
    assert hook["pass_filenames"] is False


# --- hostile input ---------------------------------------------------------------------------------

def _hostile_tree(root: Path) -> None:
    root.mkdir()
    (root / "production.env").write_text("JWT_SECRET=Xk9#mQ2vL7pR\n")  # still checked: KD302
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        levels.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    (root / "docker-compose.bomb.yml").write_text("\n".join(levels) + "\n")
    (root / "binary.env").write_bytes(b"\x00\x01JWT_SECRET=\xff")
    (root / "latin1.env").write_bytes(b"JWT_SECRET=\xff\xfeabc\n")
    (root / "docker-compose.dup.yml").write_text(
        "services:\n  api:\n    image: x\n  api:\n    image: y\n")
    (root / "compose.tabs.yml").write_text("services:\n\tapi:\n\t\timage: x\n")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    with open(root / "big.env", "wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: costs no disk


def test_hostile_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    _hostile_tree(tmp_path / "repo")
    code = (
        "import sys\n"
        "from keydrift.cli.main import main\n"
        "rc = main(['check', sys.argv[1], '--format', 'json', '--fail-on', 'never'])\n"
        # VmHWM: this address space's own peak (ru_maxrss would include the parent pytest's).
        "peak = int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))"
        " // 1024\n"
        "print(f'PEAK_MB={peak}', file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "repo")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    peak = int(re.search(r"PEAK_MB=(\d+)", proc.stderr).group(1))  # type: ignore[union-attr]
    assert peak < 300, f"peak memory {peak} MB"
    doc = json.loads(proc.stdout)
    skipped = {s["path"]: s["reason"] for s in doc["skipped"]}
    for name in ("docker-compose.bomb.yml", "binary.env", "latin1.env", "big.env",
                 "docker-compose.dup.yml"):
        assert name in skipped, (name, skipped)
        assert skipped[name] and "\n" not in skipped[name]
    assert [f["rule"] for f in doc["findings"]] == ["KD302"]  # the sane file is still checked


def test_a_named_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    code, _, err = run(capsys, str(tmp_path / "nope.env"))
    assert code == 2 and err.startswith("keydrift: error:") and "Traceback" not in err


def test_write_atomic_keeps_mode_and_cleans_up(tmp_path: Path) -> None:
    from keydrift.check.baseline import write_atomic
    from keydrift.errors import InputError

    existing = tmp_path / "report.json"
    existing.write_text("old")
    existing.chmod(0o640)
    write_atomic(str(existing), "new")
    assert existing.read_text() == "new" and (existing.stat().st_mode & 0o777) == 0o640
    fresh = tmp_path / "fresh.json"
    old = os.umask(0o022)
    try:
        write_atomic(str(fresh), "x")
    finally:
        os.umask(old)
    assert fresh.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    (tmp_path / "adir").mkdir()
    with pytest.raises(InputError, match="cannot write"):
        write_atomic(str(tmp_path / "adir"), "x")  # os.replace onto a directory fails
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "fresh.json", "report.json"]
