"""The README's CI snippets work: the pre-commit `rev:` exists and has the hook, the workflow
uses only the action's inputs, and the hook entry is a real command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _yaml_blocks() -> list[object]:
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", README, re.S)]


def test_pre_commit_rev_is_a_commit_with_the_hook() -> None:
    [config] = [b for b in _yaml_blocks() if isinstance(b, dict) and "repos" in b]
    [repo] = config["repos"]
    rev = repo["rev"]
    assert re.fullmatch(r"[0-9a-f]{40}", rev), "no release tags: pin a full commit SHA"
    hooks = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:.pre-commit-hooks.yaml"],
                           capture_output=True, text=True, timeout=60)
    assert hooks.returncode == 0, hooks.stderr
    ids = {h["id"] for h in yaml.safe_load(hooks.stdout)}
    assert {h["id"] for h in repo["hooks"]} <= ids
    args = repo["hooks"][0]["args"]
    assert args[0] == "." and "--baseline" in args


def test_workflow_uses_the_action_with_its_inputs() -> None:
    [workflow] = [b for b in _yaml_blocks() if isinstance(b, dict) and "jobs" in b]
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    steps = workflow["jobs"]["check"]["steps"]
    [ours] = [s for s in steps if s.get("uses", "").startswith("keydrift/keydrift@")]
    assert set(ours["with"]) <= set(action["inputs"])
    assert {"paths", "fail-on", "baseline", "config"} <= set(action["inputs"])
    assert workflow["permissions"]["security-events"] == "write"
    assert steps[0]["uses"].startswith("actions/checkout@")


def test_readme_shows_the_screenshots() -> None:
    for name in ("incident-replicas", "incident-staging-placeholder"):
        assert f"](docs/img/{name}.png)" in README
        assert (ROOT / "docs" / "img" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
