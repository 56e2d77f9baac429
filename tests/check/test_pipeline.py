"""run_check as a library call: configuration, environments, baselines, and no shared state."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from keydrift import run_check
from keydrift.errors import UsageError
from keydrift.model.config import parse_config

from .deploykit import tree

COMPOSE = ("services:\n  api:\n    image: acme/api\n    environment:\n"
           "      SESAME_PHRASE: your-sesame-phrase-here\n")


def _config(extra_variable: str | None) -> object:
    if extra_variable is None:
        return parse_config({})
    return parse_config({"specs": {"app": {"variables": [extra_variable]}}})


def test_two_checks_with_different_configurations_do_not_interact(tmp_path: Path) -> None:
    # SESAME_PHRASE is not secret-like by name: only a configured spec makes it one.
    root = tree(tmp_path, {"docker-compose.yml": COMPOSE}, tracked=False)
    with_spec = run_check([str(root)], config=_config("SESAME_PHRASE"))  # type: ignore[arg-type]
    without = run_check([str(root)], config=_config(None))  # type: ignore[arg-type]
    again = run_check([str(root)], config=_config("SESAME_PHRASE"))  # type: ignore[arg-type]
    assert any(f.variable == "SESAME_PHRASE" for f in with_spec.findings)
    assert not any(f.variable == "SESAME_PHRASE" for f in without.findings)
    assert [f.finding_id for f in again.findings] == [f.finding_id for f in with_spec.findings]


def test_concurrent_checks_keep_their_own_configuration(tmp_path: Path) -> None:
    root = tree(tmp_path, {"docker-compose.yml": COMPOSE}, tracked=False)
    results: dict[str, bool] = {}

    def run(name: str, variable: str | None) -> None:
        for _ in range(5):
            found = run_check([str(root)], config=_config(variable)).findings  # type: ignore[arg-type]
            seen = any(f.variable == "SESAME_PHRASE" for f in found)
            results[name] = results.get(name, seen) and seen if variable else (
                results.get(name, False) or seen)

    threads = [threading.Thread(target=run, args=("with", "SESAME_PHRASE")),
               threading.Thread(target=run, args=("without", None))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == {"with": True, "without": False}


def test_environment_filter_baseline_and_result(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "staging.env": "JWT_SECRET=your-staging-secret-here\n",
        "production.env": "JWT_SECRET=your-production-secret-here\n",
    }, tracked=False)
    everything = run_check([str(root)])
    assert {e for f in everything.findings for e in f.environments} == {"production", "staging"}
    staging = run_check([str(root)], environments=["stg"])
    assert staging.findings and all(f.applies_to("staging") for f in staging.findings)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"keydrift_baseline": 1, "findings": [
        {"id": f.finding_id} for f in everything.findings]}))
    accepted = run_check([str(root)], baseline=str(baseline))
    assert accepted.findings == [] and accepted.baselined == len(everything.findings)
    with pytest.raises(UsageError):
        run_check([str(root)], environments=["qa"])
    assert everything.summary_line().startswith("keydrift check: ")
