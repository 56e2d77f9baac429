"""The composite GitHub Action (action.yml) run the way the runner runs it: each ``run:`` step in
``bash --noprofile --norc -eo pipefail`` with its ``env:``, the ``${{ }}`` expressions the
runner substitutes, and the ``GITHUB_*`` files (GITHUB_OUTPUT, GITHUB_PATH) it reads between
steps, against a sample repository. The ``uses:`` steps (code-scanning upload, artefact upload)
cannot run outside GitHub: the test checks that what they are given exists and is valid."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.check.deploykit import GIT

ROOT = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = json.loads((ROOT / "tests" / "assets" / "sarif" / "sarif-schema-2.1.0.json").read_text())
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")

pytestmark = pytest.mark.integration


class Runner:
    """Just enough of the Actions runner for a composite action: contexts, expressions, step
    outputs and GITHUB_PATH. Expressions are the few forms action.yml uses; anything else is
    an error, so the action cannot grow an expression this test silently misreads."""

    def __init__(self, workspace: Path, temp: Path, inputs: dict[str, str]) -> None:
        self.workspace = workspace
        self.temp = temp
        self.inputs = inputs
        self.outputs: dict[str, dict[str, str]] = {}
        self.path_prepend: list[str] = []

    def value(self, ref: str) -> str:
        ref = ref.strip()
        if ref.startswith("inputs."):
            return self.inputs[ref.removeprefix("inputs.")]
        if ref == "github.action_path":
            return str(ROOT)
        if ref == "github.workspace":
            return str(self.workspace)
        m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", ref)
        if m:
            return self.outputs.get(m.group(1), {}).get(m.group(2), "")
        m = re.fullmatch(r"'([^']*)'", ref)
        if m:
            return m.group(1)
        raise AssertionError(f"expression the test runner does not know: {ref}")

    def substitute(self, text: str) -> str:
        return EXPR.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, text: str | None) -> bool:
        if text is None:
            return True  # success(): every earlier step succeeded, or we stopped already
        inner = EXPR.fullmatch(text.strip())
        expr = inner.group(1) if inner else text
        result = True
        for term in expr.split("&&"):
            term = term.strip()
            if term == "always()":
                continue
            m = re.fullmatch(r"(.+?)\s*(==|!=)\s*(.+)", term)
            if m:
                equal = self.value(m.group(1)) == self.value(m.group(3))
                result = result and (equal if m.group(2) == "==" else not equal)
            else:
                result = result and bool(self.value(term))
        return result

    def run(self, step: dict[str, Any], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        script = self.temp / f"step-{len(self.outputs)}-{os.urandom(4).hex()}.sh"
        script.write_text(step["run"])
        output = self.temp / f"output-{script.stem}"
        paths = self.temp / f"path-{script.stem}"
        output.touch()
        paths.touch()
        step_env = {**env, "GITHUB_OUTPUT": str(output), "GITHUB_PATH": str(paths)}
        step_env["PATH"] = os.pathsep.join([*self.path_prepend, env["PATH"]])
        step_env.update({k: self.substitute(str(v)) for k, v in step.get("env", {}).items()})
        cwd = self.substitute(step.get("working-directory", str(self.workspace)))
        assert step["shell"] == "bash"
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              env=step_env, cwd=cwd, capture_output=True, text=True, timeout=600)
        if "id" in step:
            outs = dict(line.split("=", 1) for line in output.read_text().splitlines() if line)
            self.outputs[step["id"]] = outs
        self.path_prepend = [*reversed(paths.read_text().split()), *self.path_prepend]
        return proc


def _sample_repository(path: Path) -> Path:
    shutil.copytree(ROOT / "examples" / "incident-staging-placeholder", path / "services")
    shutil.copytree(ROOT / "examples" / "incident-replicas", path / "replicas")
    (path / "ci").mkdir()
    (path / "ci" / "keydrift.toml").write_text('ignore = ["docs/**"]\n')
    (path / "docs").mkdir()
    (path / "docs" / "settings.py").write_text('JWT_SECRET = "your-secret-here"\n')
    subprocess.run([*GIT, "init", "-q", str(path)], check=True)
    subprocess.run([*GIT, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(path), "commit", "-qm", "sample"], check=True)
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The action's install step, run once for the module (a real pip install of this
    revision into a fresh venv, as the default ``package: ''`` does); the PATH it adds."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    [step] = [s for s in action["runs"]["steps"] if s["name"] == "Install keydrift"]
    base = tmp_path_factory.mktemp("install")
    runner = Runner(base, base, {name: str(spec.get("default", ""))
                                 for name, spec in action["inputs"].items()})
    proc = runner.run(step, {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(base),
                             "RUNNER_TEMP": str(base), "LANG": "C.UTF-8"})
    assert proc.returncode == 0, proc.stderr
    assert runner.path_prepend and Path(runner.path_prepend[0], "keydrift").exists()
    return runner.path_prepend


def _run_action(tmp_path: Path, overrides: dict[str, str],
                installed: list[str]) -> tuple[Runner, list[tuple[str, Any]]]:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    assert set(overrides) <= set(inputs)
    inputs.update(overrides)
    workspace = tmp_path / "workspace"
    _sample_repository(workspace)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    runner = Runner(workspace, temp, inputs)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "CI": "true",
        "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(temp),
        "GITHUB_ACTION_PATH": str(ROOT), "GITHUB_REPOSITORY": "acme/sample",
        "GITHUB_SHA": "0" * 40, "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_NAME": "push",
        "GITHUB_STEP_SUMMARY": str(temp / "summary.md"), "GITHUB_ENV": str(temp / "env"),
        "RUNNER_OS": "Linux", "LANG": "C.UTF-8",
    }
    ran: list[tuple[str, Any]] = []
    for step in action["runs"]["steps"]:
        if step["name"] == "Install keydrift":
            runner.path_prepend = list(installed)  # run once by the fixture
            ran.append(("installed", step))
            continue
        if not runner.condition(step.get("if")):
            ran.append(("skipped", step))
            continue
        if "uses" in step:
            with_ = {k: runner.substitute(str(v)) for k, v in step.get("with", {}).items()}
            ran.append(("uses", (step["uses"], with_)))
            continue
        proc = runner.run(step, env)
        ran.append(("run", (step["name"], proc)))
        if proc.returncode != 0:
            break
    return runner, ran


def test_action_runs_check_and_produces_valid_sarif_and_html(tmp_path: Path,
                                                             installed: list[str]) -> None:
    baseline = tmp_path / "workspace-baseline.json"
    runner, ran = _run_action(tmp_path, {
        "paths": "services\nreplicas", "fail-on": "error", "config": "ci/keydrift.toml",
        "baseline": "", "package": "",
    }, installed)
    runs = {name: proc for kind, (name, proc) in ((k, v) for k, v in ran if k == "run")}
    check = runs["Run keydrift check"]
    assert check.returncode == 0, check.stderr
    assert "jwt in compose:" in check.stderr and "B placeholder" in check.stderr
    outputs = runner.outputs["check"]
    assert outputs["exit-code"] == "1"

    sarif = json.loads(Path(outputs["sarif"]).read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    found = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert found == {"KD102", "KD202", "KD301", "KD402"}  # docs/settings.py ignored by the config
    html = Path(outputs["html"]).read_text()
    assert html.startswith("<!DOCTYPE html>") and "5kxp5wE4AcL6" in html and "Q1bFdWVzhsh3" not in html

    uses = [v for k, v in ran if k == "uses"]
    assert [u for u, _ in uses] == ["github/codeql-action/upload-sarif@v3", "actions/upload-artifact@v4"]
    assert uses[0][1]["sarif_file"] == outputs["sarif"]
    assert uses[1][1]["path"].split() == [outputs["html"], outputs["sarif"]]
    # Findings fail the job after the uploads, with the check's exit code.
    assert ran[-1][0] == "run" and ran[-1][1][0] == "Fail on findings"
    assert ran[-1][1][1].returncode == 1

    # A baseline accepting everything makes the same action pass.
    workspace = runner.workspace
    subprocess.run(["keydrift", "check", "services", "replicas", "--config", "ci/keydrift.toml",
                    "--write-baseline", str(baseline)], cwd=workspace, check=True,
                   env={**os.environ, "PATH": os.pathsep.join([*runner.path_prepend, os.environ["PATH"]])},
                   capture_output=True)
    check_only = _rerun_check(runner, {"baseline": str(baseline)})
    assert check_only.returncode == 0, check_only.stderr
    assert runner.outputs["check"]["exit-code"] == "0"
    assert "4 in baseline" in check_only.stderr


def _rerun_check(runner: Runner, overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    [step] = [s for s in action["runs"]["steps"] if s.get("id") == "check"]
    runner.inputs.update(overrides)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(runner.temp), "CI": "true",
           "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(runner.workspace),
           "RUNNER_TEMP": str(runner.temp), "LANG": "C.UTF-8"}
    return runner.run(step, env)


def test_bad_input_stops_the_action_before_the_uploads(tmp_path: Path,
                                                       installed: list[str]) -> None:
    _runner, ran = _run_action(tmp_path, {"paths": "services", "config": "ci/missing.toml"},
                               installed)
    kinds = [(k, v[0] if k == "run" else None) for k, v in ran]
    assert kinds == [("installed", None), ("run", "Run keydrift check")]
    proc = ran[-1][1][1]
    assert proc.returncode == 2
    assert "missing.toml" in proc.stderr and "Traceback" not in proc.stderr


def test_shell_metacharacters_in_inputs_stay_data(tmp_path: Path, installed: list[str]) -> None:
    marker = tmp_path / "pwned"
    _runner, ran = _run_action(tmp_path, {"paths": f"services;touch {marker}",
                                          "fail-on": f"error$(touch {marker})"}, installed)
    assert not marker.exists()
    proc = ran[-1][1][1]
    assert proc.returncode == 2  # click rejects the fail-on value as a usage error
