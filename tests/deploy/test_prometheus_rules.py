"""`promtool test rules` on deploy/prometheus/keydrift.rules.yml, one scenario per test.

Each scenario is a timeline of fleet states, one per minute: for every process, the kid it signs
with and the kids it verifies (or ``None`` while it is down or restarting). The test writes the
series a Prometheus server would have scraped (30 s interval, a staleness marker when a series
disappears, as Prometheus writes one), runs promtool with the expected alerts, and then runs it
again with the opposite expectation, which must fail: the harness itself can fail.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from keydrift.keyring import Keyring
from tests.deploy.prometheus_tools import require_binary

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "keydrift.rules.yml"
INTERVAL_S = 30
SAMPLES_PER_STEP = 2  # one step of the timeline = one minute

State = tuple[str, tuple[str, ...]] | None  # (signing kid, verifying kids) or down


def new_kid() -> str:
    return Keyring.from_secrets(secrets.token_urlsafe(48)).current_kid


K1, K2, K3 = new_kid(), new_kid(), new_kid()


def process_labels(name: str) -> dict[str, str]:
    """``a`` is a replica (its own target); ``host/101`` is worker pid 101 behind one target."""
    base = {"job": "api", "spec": "jwt", "environment": "production"}
    if "/" in name:
        host, pid = name.split("/")
        return {**base, "instance": f"{host}:8000", "pid": pid}
    return {**base, "instance": f"{name}:8000"}


def series(timeline: list[dict[str, State]]) -> list[dict[str, str]]:
    names = sorted({n for step in timeline for n in step})
    out = []
    for name in names:
        keys: set[tuple[str, str]] = set()
        for step in timeline:
            state = step.get(name)
            if state:
                keys.add((state[0], "signing"))
                keys.update((kid, "verifying") for kid in state[1])
        for kid, role in sorted(keys):
            values: list[str] = []
            for step in timeline:
                state = step.get(name)
                here = bool(state) and (
                    state[0] == kid if role == "signing" else kid in state[1])  # type: ignore[index]
                for _ in range(SAMPLES_PER_STEP):
                    if here:
                        values.append("1")
                    elif values and values[-1] == "1":
                        values.append("stale")  # Prometheus marks a vanished series stale
                    else:
                        values.append("_")
            labels = {**process_labels(name), "kid": kid, "role": role}
            selector = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            out.append({"series": f"keydrift_key_info{{{selector}}}", "values": " ".join(values)})
    return out


def rule(name: str) -> dict[str, Any]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return next(r for g in groups for r in g["rules"] if r.get("alert") == name)


def render(template: str, labels: dict[str, str], value: float) -> str:
    """The two template forms the rules use, so that the expected annotations are exact."""
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), template)
    text = text.replace("{{ $value }}", f"{value:g}")
    assert "{{" not in text, f"template form the test does not render: {text}"
    return text


def drift_alert(kid: str, rejecting: int) -> dict[str, Any]:
    r = rule("KeydriftSigningKeyDrift")
    labels = {"job": "api", "spec": "jwt", "kid": kid}
    return {
        "exp_labels": {**labels, **r["labels"]},
        "exp_annotations": {k: render(v, labels, rejecting) for k, v in r["annotations"].items()},
    }


@dataclass
class Scenario:
    timeline: list[dict[str, State]]
    # From this many seconds on (until the next entry), these alerts are expected; none before.
    alerts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    extra_series: list[dict[str, str]] = field(default_factory=list)
    alertname: str = "KeydriftSigningKeyDrift"


def promtool_test(tmp_path: Path, scenario: Scenario,
                  checks: dict[str, list[Any]]) -> subprocess.CompletedProcess[str]:
    doc = {
        "rule_files": [str(RULES)],
        "evaluation_interval": f"{INTERVAL_S}s",
        "tests": [{
            "interval": f"{INTERVAL_S}s",
            "input_series": series(scenario.timeline) + scenario.extra_series,
            "alert_rule_test": [
                {"eval_time": t, "alertname": scenario.alertname, "exp_alerts": alerts}
                for t, alerts in checks.items()
            ],
        }],
    }
    path = tmp_path / "keydrift.rules.test.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return subprocess.run([require_binary("promtool"), "test", "rules", str(path)],
                          capture_output=True, text=True, timeout=60)


def check(tmp_path: Path, scenario: Scenario) -> None:
    """At every evaluation of the timeline, exactly the expected alerts."""
    end = len(scenario.timeline) * SAMPLES_PER_STEP * INTERVAL_S
    checks: dict[str, list[Any]] = {}
    for t in range(0, end, INTERVAL_S):
        since = [start for start in scenario.alerts if start <= t]
        checks[f"{t}s"] = scenario.alerts[max(since)] if since else []
    ok = promtool_test(tmp_path, scenario, checks)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # The opposite expectation must fail, or the test above proves nothing.
    firing = sorted(t for t, alerts in scenario.alerts.items() if alerts)
    if firing:
        inverted: dict[str, list[Any]] = {f"{firing[0]}s": []}
    else:
        inverted = {f"{end - INTERVAL_S}s": [drift_alert(K1, 1)]}
    bad = promtool_test(tmp_path, scenario, inverted)
    assert bad.returncode != 0, "promtool accepted the opposite expectation"


def agree(kid: str, *names: str, verifying: tuple[str, ...] | None = None) -> dict[str, State]:
    return {n: (kid, verifying or (kid,)) for n in names}


# --- scenarios ------------------------------------------------------------------------------------


def test_drift_fires(tmp_path: Path) -> None:
    # Replica c generated its own key (the first incident): from the start, for ten minutes.
    steps = [{**agree(K1, "a", "b"), **agree(K2, "c")} for _ in range(10)]
    # `for: 2m`: pending at 0 s, firing from 2 m on. c rejects K1; a and b reject K2.
    fired = [drift_alert(K1, 1), drift_alert(K2, 2)]
    check(tmp_path, Scenario(steps, alerts={120: fired}))


def test_agreement_stays_silent(tmp_path: Path) -> None:
    steps = [agree(K1, "a", "b", "c") for _ in range(10)]
    check(tmp_path, Scenario(steps))


def test_agreement_with_a_previous_key_stays_silent(tmp_path: Path) -> None:
    steps = [agree(K2, "a", "b", "c", verifying=(K2, K1)) for _ in range(6)]
    check(tmp_path, Scenario(steps))


def two_phase_rotation() -> list[dict[str, State]]:
    """Old K1 to new K2 over three replicas, one restart a minute, each restart one minute down.

    Phase 1: each replica learns K2 (still signing with K1). Phase 2: each signs with K2 and
    keeps verifying K1. Phase 3: K1 is dropped.
    """
    state: dict[str, State] = agree(K1, "a", "b", "c")
    steps = [dict(state), dict(state)]
    for new in ((K1, (K1, K2)), (K2, (K2, K1)), (K2, (K2,))):
        for name in ("a", "b", "c"):
            steps.append({**state, name: None})  # restarting: not scraped
            state = {**state, name: new}
            steps.append(dict(state))
    steps += [dict(state), dict(state)]
    return steps


def test_correct_two_phase_rotation_stays_silent_at_every_step(tmp_path: Path) -> None:
    check(tmp_path, Scenario(two_phase_rotation()))


def test_two_phase_rotation_of_workers_behind_one_port_stays_silent(tmp_path: Path) -> None:
    # Workers of one uvicorn (multiprocess mode: a pid label each). A restarted worker is a new
    # pid: the old one's series go stale, the new one's appear.
    state: dict[str, State] = agree(K1, "h/101", "h/102")
    steps = [dict(state)] * 2
    pids = iter(range(103, 200))
    for new in ((K1, (K1, K2)), (K2, (K2, K1))):
        for old in sorted(state):
            rest = {k: v for k, v in state.items() if k != old}
            steps.append(rest)
            state = {**rest, f"h/{next(pids)}": new}
            steps.append(dict(state))
    check(tmp_path, Scenario(steps + [dict(state)] * 2))


def test_single_phase_rotation_fires(tmp_path: Path) -> None:
    # The wrong order: a restarts signing with K2 (keeping K1) while b and c know only K1.
    before = agree(K1, "a", "b", "c")
    after = {**before, "a": (K2, (K2, K1))}
    steps = [before, before, {**before, "a": None}] + [after] * 6
    # a signs K2 from 3 m on; b and c reject its tokens: firing 2 m later.
    fired = [drift_alert(K2, 2)]
    check(tmp_path, Scenario(steps, alerts={300: fired}))


def test_respawned_worker_with_a_new_key_fires(tmp_path: Path) -> None:
    # Worker 102 dies; uvicorn respawns it as 103, which reads a changed secret file.
    before = agree(K1, "h/101", "h/102")
    after = {"h/101": (K1, (K1,)), "h/103": (K3, (K3,))}
    steps = [before] * 3 + [after] * 5
    fired = [drift_alert(K1, 1), drift_alert(K3, 1)]
    check(tmp_path, Scenario(steps, alerts={300: fired}))


def test_a_key_dropped_at_runtime_is_ignored_at_zero(tmp_path: Path) -> None:
    # In multiprocess mode a worker cannot remove a series; it sets the dropped key to 0.
    steps = [agree(K2, "a", "b") for _ in range(6)]
    zero = [{"series": 'keydrift_key_info{environment="production",instance="a:8000",job="api",'
                       f'kid="{K1}",role="signing",spec="jwt"}}', "values": "0x11"}]
    check(tmp_path, Scenario(steps, extra_series=zero))


def test_weak_secret_and_rejection_alerts(tmp_path: Path) -> None:
    weak_rule, rej_rule = rule("KeydriftWeakSecret"), rule("KeydriftSignatureRejections")
    labels = {"job": "api", "spec": "jwt"}
    weak = Scenario(
        [agree(K1, "a")] * 4,
        alerts={60: [{
            "exp_labels": {**labels, **weak_rule["labels"]},
            "exp_annotations": {k: render(v, labels, 1) for k, v in weak_rule["annotations"].items()},
        }]},
        extra_series=[{"series": 'keydrift_secret_weak{instance="a:8000",job="api",spec="jwt"}',
                       "values": "1x7"}],
        alertname="KeydriftWeakSecret",
    )
    check(tmp_path, weak)
    # 60 unknown_kid rejections a minute (1/s), 0 signature: the first rate over the threshold
    # is at 1 m (pending), firing 5 m later.
    rejected = Scenario(
        [agree(K1, "a")] * 12,
        alerts={360: [{"exp_labels": {"job": "api", **rej_rule["labels"]},
                                   "exp_annotations": {
                                       "summary": "api rejects 1 token(s)/s for their signature",
                                       "description": render(rej_rule["annotations"]["description"],
                                                             labels, 1),
                                       "runbook_url": rej_rule["annotations"]["runbook_url"]}}]},
        extra_series=[
            {"series": 'keydrift_token_rejections_total{instance="a:8000",job="api",reason="unknown_kid"}',
             "values": "0+30x23"},
            {"series": 'keydrift_token_rejections_total{instance="a:8000",job="api",reason="signature"}',
             "values": "0x23"},
        ],
        alertname="KeydriftSignatureRejections",
    )
    check(tmp_path, rejected)


def test_scrape_lag_within_for_stays_silent_longer_lag_fires(tmp_path: Path) -> None:
    # Targets are scraped at different moments: right after phase 1, Prometheus may still hold
    # c's pre-phase-1 scrape when a already signs with K2. `for: 2m` rides out one such minute;
    # three minutes of it is a real wrong-order rotation.
    learned = (K1, (K1, K2))
    stale_c = {"a": (K2, (K2, K1)), "b": learned, "c": (K1, (K1,))}
    done = {"a": (K2, (K2, K1)), "b": learned, "c": learned}
    start = agree(K1, "a", "b", "c", verifying=(K1, K2))
    check(tmp_path, Scenario([start, start, stale_c, done, done, done]))
    longer = [start, start, stale_c, stale_c, stale_c, done, done]
    # Pending from 2 m (the first step of the lag); firing from 4 m to the end of the lag.
    check(tmp_path, Scenario(longer, alerts={240: [drift_alert(K2, 1)], 300: []}))
