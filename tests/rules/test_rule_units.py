"""Rule logic on hand-built models: each case has a firing and a quiet twin."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from keydrift.model.config import Config
from keydrift.model.types import Location, ReaderView
from keydrift.rules.interface import Finding, Severity, rule_by_id, run_rules
from keydrift.rules.interface import _registry as rules_registry
from keydrift.secret import SecretValue
from tests.rules.modelkit import assign, effective, model, preset_spec, service

STRONG_A = "Zq3vN8xLr2WmK5tYp9HcJ4sBd7FgQ1eUa6VnT0yRiOw"
STRONG_B = "Pw7Hn2Kx9LcV4mQz8TrB1sJd6FyG3aUe5NtR0iYoXqE"
FERNET = "pnqf3QoUop895RCjR9Ql5fH2TjrMBaROfh1PBewdJWY="


def findings(rule_id: str, m: object) -> list[Finding]:
    rule = rule_by_id(rule_id)
    assert rule is not None
    return list(rule.check(m))  # type: ignore[arg-type]


# --- KD101 ---------------------------------------------------------------------------------------

def test_kd101_missing_preset_secret_says_what_the_app_does() -> None:
    svc = service("langflow", image="langflowai/langflow:1.1", presets=("langflow",))
    got = findings("KD101", model(effective=[effective(svc, None, spec=preset_spec("langflow"))]))
    assert [f.services for f in got] == [("langflow",)]
    assert "random key" in got[0].runtime_effect
    assert got[0].variable == "LANGFLOW_SECRET_KEY"


def test_kd101_quiet_when_set_or_when_an_unresolvable_reference() -> None:
    svc = service("langflow", presets=("langflow",))
    spec = preset_spec("langflow")
    assert not findings("KD101", model(effective=[
        effective(svc, assign("LANGFLOW_SECRET_KEY", FERNET), spec=spec)]))
    other = service("api")
    assert not findings("KD101", model(effective=[
        effective(other, assign("JWT_SECRET", None, source="kubernetes"))]))


def test_kd101_empty_interpolation_counts_as_missing() -> None:
    svc = service("api")
    got = findings("KD101", model(effective=[effective(svc, assign("JWT_SECRET", ""))]))
    assert got and "empty" in got[0].message


# --- KD102 ---------------------------------------------------------------------------------------

def test_kd102_replicas_without_secret() -> None:
    svc = service("langflow", replicas=3, presets=("langflow",))
    got = findings("KD102", model(effective=[effective(svc, None, spec=preset_spec("langflow"))]))
    assert len(got) == 1 and "3 processes" in got[0].message


@pytest.mark.parametrize(
    ("kw", "preset"),
    [({"replicas": 1}, "langflow"), ({"replicas": 3}, "superset")],
)
def test_kd102_quiet_single_process_shared_state_or_app_that_refuses(
    kw: dict[str, object], preset: str
) -> None:
    svc = service("app", presets=(preset,), **kw)
    assert not findings("KD102", model(effective=[effective(svc, None, spec=preset_spec(preset))]))


def test_kd102_workers_count_too() -> None:
    svc = service("api", workers=4)
    assert findings("KD102", model(effective=[effective(svc, None)]))
    assert not findings("KD102", model(effective=[effective(service("api", workers=4),
                                                            assign("JWT_SECRET", STRONG_A))]))


def test_kd102_preset_components_must_share() -> None:
    spec = preset_spec("airflow")
    effs = [effective(service(n, presets=("airflow",)), None, spec=spec)
            for n in ("webserver", "scheduler", "worker")]
    got = findings("KD102", model(effective=effs))
    assert len(got) == 1 and got[0].services == ("scheduler", "webserver", "worker")


# --- KD201 ---------------------------------------------------------------------------------------

def _pair(a: str, b: str, **cfg: object) -> object:
    return model(
        effective=[
            effective(service("backend", env="staging", groups=cfg.get("gb", ())),  # type: ignore[arg-type]
                      assign("JWT_SECRET", a, "compose.yml", 5, env="staging", source="compose",
                             service="backend")),
            effective(service("auth", env="staging", groups=cfg.get("ga", ())),  # type: ignore[arg-type]
                      assign("JWT_SECRET", b, "compose.yml", 9, env="staging", source="compose",
                             service="auth")),
        ],
        config=cfg.get("config"),  # type: ignore[arg-type]
    )


def test_kd201_services_disagree() -> None:
    got = findings("KD201", _pair(STRONG_A, STRONG_B))
    assert len(got) == 1
    f = got[0]
    assert f.services == ("auth", "backend") and len(f.fingerprints) == 2
    assert f.environment == "staging"
    assert STRONG_A not in f.message and STRONG_B not in f.message
    assert not findings("KD201", _pair(STRONG_A, STRONG_A))


def test_kd201_configured_groups_decide_who_must_agree() -> None:
    cfg = Config(groups={"a": ["backend"], "b": ["auth"]})
    assert not findings("KD201", _pair(STRONG_A, STRONG_B, gb=("a",), ga=("b",), config=cfg))
    cfg = Config(groups={"a": ["backend", "auth"]})
    assert findings("KD201", _pair(STRONG_A, STRONG_B, gb=("a",), ga=("a",), config=cfg))


# --- KD202 ---------------------------------------------------------------------------------------

def test_kd202_deploy_script_versus_env_file() -> None:
    env_file = assign("JWT_SECRET_STAGING", STRONG_A, "staging.env", 1, env="staging")
    script = assign("JWT_SECRET_STAGING", STRONG_B, "deploy/deploy_staging.sh", 4,
                    env="staging", source="shell")
    got = findings("KD202", model(assignments=[env_file, script]))
    assert len(got) == 1
    assert [str(loc) for loc in got[0].locations] == ["staging.env:1", "deploy/deploy_staging.sh:4"]
    same = assign("JWT_SECRET_STAGING", STRONG_A, "deploy/deploy_staging.sh", 4, env="staging",
                  source="shell")
    assert not findings("KD202", model(assignments=[env_file, same]))


def test_kd202_needs_an_environment() -> None:
    a = assign("JWT_SECRET", STRONG_A, ".env")
    b = assign("JWT_SECRET", STRONG_B, "deploy.sh", source="shell")
    assert not findings("KD202", model(assignments=[a, b]))


# --- KD203 ---------------------------------------------------------------------------------------

def test_kd203_priority_shadowing() -> None:
    hidden = assign("JWT_SECRET", STRONG_B, "compose.yml", 7, env="staging", service="backend")
    backend = effective(
        service("backend", env="staging"),
        assign("JWT_SECRET_STAGING", STRONG_A, "compose.yml", 6, env="staging", service="backend"),
        shadowed=(hidden,),
    )
    auth = effective(service("auth", env="staging"),
                     assign("JWT_SECRET", STRONG_B, "compose.yml", 11, env="staging",
                            service="auth"))
    got = findings("KD203", model(effective=[backend, auth]))
    assert len(got) == 1 and "shadows the JWT_SECRET" in got[0].message
    quiet_backend = effective(service("backend", env="staging"),
                              assign("JWT_SECRET", STRONG_B, env="staging"))
    assert not findings("KD203", model(effective=[quiet_backend, auth]))


# --- KD301 / KD302 / KD303 / KD304 ---------------------------------------------------------------

PLACEHOLDER = "your-secure-jwt-secret-key-staging-64-chars-minimum-for-security"


@pytest.mark.parametrize(("env", "severity"), [("staging", Severity.ERROR),
                                               ("development", Severity.WARNING)])
def test_kd301_severity_follows_environment(env: str, severity: Severity) -> None:
    got = findings("KD301", model(assignments=[
        assign("JWT_SECRET_STAGING", PLACEHOLDER, "deploy.py", 3, env=env, source="python")]))
    assert [f.severity for f in got] == [severity]


def test_kd301_templates_and_real_values_are_quiet() -> None:
    assert not findings("KD301", model(assignments=[
        assign("JWT_SECRET", PLACEHOLDER, ".env.example", template=True),
        assign("JWT_SECRET", STRONG_A, "staging.env", env="staging")]))


def test_kd302_weak_signing_secret() -> None:
    got = findings("KD302", model(assignments=[
        assign("JWT_SECRET", "Xk9#mQ2vL7pR", "production.env", env="production")]))
    assert len(got) == 1 and got[0].severity is Severity.ERROR and "RFC 7518" in got[0].message
    # Not a signing-key variable: length rules do not apply; strong keys pass.
    assert not findings("KD302", model(assignments=[
        assign("DB_PASSWORD", "Xk9#mQ2vL7pR", "production.env", env="production"),
        assign("JWT_SECRET", STRONG_A, "production.env", 2, env="production")]))


def test_kd302_public_default_of_a_preset() -> None:
    got = findings("KD302", model(assignments=[
        assign("SUPERSET_SECRET_KEY", "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET", ".env.prod",
               env="production")]))
    # CHANGE_ME is a placeholder pattern too: KD301 owns it, KD302 stays quiet.
    assert not got
    # Camel-case words are a placeholder too ("this is a secret"): KD301's.
    assert findings("KD301", model(assignments=[
        assign("SUPERSET_SECRET_KEY", "thisISaSECRET_1234", ".env.prod", env="production")]))
    got = findings("KD302", model(assignments=[
        assign("SUPERSET_SECRET_KEY", "\\2\\1thisismyscretkey\\1\\2\\e\\y\\y\\h", ".env.prod",
               env="production")]))
    assert got and "Superset" in got[0].runtime_effect


def test_kd303_reuse_across_environments() -> None:
    got = findings("KD303", model(assignments=[
        assign("JWT_SECRET", STRONG_A, "staging.env", env="staging"),
        assign("JWT_SECRET", STRONG_A, "production.env", env="production")]))
    assert len(got) == 1 and got[0].environment == "production,staging"
    assert got[0].severity is Severity.ERROR
    got = findings("KD303", model(assignments=[
        assign("JWT_SECRET", STRONG_A, ".env.development", env="development"),
        assign("JWT_SECRET", STRONG_A, ".env.test", env="test")]))
    assert [f.severity for f in got] == [Severity.NOTE]
    assert not findings("KD303", model(assignments=[
        assign("JWT_SECRET", STRONG_A, "staging.env", env="staging"),
        assign("JWT_SECRET", STRONG_B, "production.env", env="production")]))


HEX64 = "3172525e402b4eec40fd74b069f998b3d7705420c8fc4f9fc109f1672714ae32"


@pytest.mark.parametrize(
    ("value", "bad"), [(HEX64, True), (FERNET, False), ("short-langflow-key", False)]
)
def test_kd304_langflow_fernet_format(value: str, bad: bool) -> None:
    got = findings("KD304", model(assignments=[assign("LANGFLOW_SECRET_KEY", value)]))
    assert bool(got) is bad


# --- KD401 / KD402 -------------------------------------------------------------------------------

def test_kd401_tracked_literal_only() -> None:
    def lit(tracked: str, value: str = STRONG_A, source: str = "python") -> object:
        return model(assignments=[assign("JWT_SECRET", value, "app/settings.py", 5,
                                         source=source, tracked=tracked)])
    assert findings("KD401", lit("tracked"))
    assert not findings("KD401", lit("untracked"))
    assert not findings("KD401", lit("tracked", PLACEHOLDER))
    assert not findings("KD401", lit("tracked", source="dotenv"))


def test_kd402_tracked_env_file() -> None:
    got = findings("KD402", model(assignments=[
        assign("JWT_SECRET", STRONG_A, ".env", tracked="tracked"),
        assign("API_TOKEN", STRONG_B, ".env", 2, tracked="tracked")]))
    assert len(got) == 1 and "API_TOKEN, JWT_SECRET" in got[0].message
    assert not findings("KD402", model(assignments=[
        assign("JWT_SECRET", STRONG_A, ".env", tracked="ignored"),
        assign("JWT_SECRET", "change-me", ".env.example", tracked="tracked", template=True)]))


# --- KD501 ---------------------------------------------------------------------------------------

def test_kd501_reader_divergence() -> None:
    quoted = ReaderView("docker-run-env-file", SecretValue(f'"{STRONG_A}"'), "quotes kept")
    same = ReaderView("compose-env_file", SecretValue(STRONG_A), "")
    m = model(assignments=[assign("JWT_SECRET", STRONG_A, readers=(quoted, same))])
    # Nothing in the repository runs `docker run --env-file` on it: an imagined reader.
    assert not findings("KD501", m)
    m.readers_in_use = {m.assignments[0].location.path: frozenset({"docker-run-env-file"})}
    got = findings("KD501", m)
    assert len(got) == 1 and "1 other reader sees different bytes" in got[0].message
    assert "docker-run-env-file gives" in got[0].message and len(got[0].fingerprints) == 2
    assert not findings("KD501", model(assignments=[assign("JWT_SECRET", STRONG_A,
                                                           readers=(same,))]))


# --- registry, severities, ids -------------------------------------------------------------------

def test_severity_overrides_and_off() -> None:
    m = model(assignments=[assign("JWT_SECRET", "Xk9#mQ2vL7pR", "production.env",
                                  env="production")])
    assert {f.rule for f in run_rules(m)} == {"KD302"}
    assert not run_rules(m, severity={"KD302": "off"})
    assert [f.severity for f in run_rules(m, severity={"KD302": "note"})] == [Severity.NOTE]
    m.config = Config(severity={"KD302": "off"})
    assert not run_rules(m)


def test_finding_id_is_stable_across_line_moves_and_never_hashes_a_value() -> None:
    def one(line: int, value: str, env: str = "production") -> Finding:
        m = model(assignments=[assign("JWT_SECRET", value, "production.env", line, env=env)])
        (f,) = run_rules(m)
        return f
    a, b = one(1, "Xk9#mQ2vL7pR"), one(7, "Yk9#mQ2vL7pZ")
    assert a.finding_id == b.finding_id
    assert one(1, "Xk9#mQ2vL7pR", "staging").finding_id != a.finding_id


def test_every_rule_has_metadata_and_docs() -> None:
    from keydrift.rules.interface import all_rules

    root = Path(__file__).resolve().parents[2]
    ids = [r.id for r in all_rules()]
    assert ids == sorted(ids) and len(ids) == 13
    for rule in all_rules():
        assert rule.name and rule.title and rule.info.description
        assert (root / rule.docs).is_file(), rule.docs
        assert rule.help_uri.endswith(f"{rule.id}.md")


def test_location_str() -> None:
    assert str(Location("a/b.env", 3)) == "a/b.env:3"


def test_adding_a_rule_module_needs_no_other_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keydrift.rules as rules_pkg

    (tmp_path / "kd999_demo.py").write_text(textwrap.dedent('''
        from keydrift.rules.interface import Rule, Severity

        class Demo(Rule):
            id = "KD999"
            name = "demo"
            title = "Demo"
            default_severity = Severity.NOTE

            def check(self, model):
                yield self.finding(environment=None, services=[], locations=[],
                                   message="m", runtime_effect="e", fix="f")
    '''))
    monkeypatch.setattr(rules_pkg, "__path__", [*rules_pkg.__path__, str(tmp_path)])
    rules_registry.cache_clear()
    try:
        assert rule_by_id("KD999") is not None
        assert [f.rule for f in run_rules(model())] == ["KD999"]
    finally:
        monkeypatch.undo()
        rules_registry.cache_clear()
        sys.modules.pop("keydrift.rules.kd999_demo", None)
    assert rule_by_id("KD999") is None


def test_looks_like_secret() -> None:
    from keydrift.rules.kd401_hardcoded_secret import looks_like_secret

    for value in (STRONG_A, "password123", "Xk9#mQ2vL7pR", "postgres://u:pw@db/x"):
        assert looks_like_secret(value), value
    for value in ("keydrift.spec", "pkg.mod:obj", "/run/secrets/jwt", "./key.pem", "short",
                  "https://example.com/x", "two words here", PLACEHOLDER, "secrets/jwt.txt"):
        assert not looks_like_secret(value), value


def test_file_pointer_variables_are_paths_not_secrets() -> None:
    m = model(assignments=[
        assign("JWT_SECRET_FILE", "/run/secrets/jwt", "compose.yml", 5, env="production",
               source="compose", tracked="tracked"),
        assign("LANGFLOW_SECRET_KEY_FILE", "/run/secrets/langflow", "compose.yml", 6,
               env="production", source="compose", tracked="tracked"),
    ])
    assert run_rules(m) == []
    # The same text under the secret's own name is a (weak, hardcoded) secret.
    m.assignments.append(assign("JWT_SECRET", "/run/secrets/jwt", "compose.yml", 7,
                                env="production", source="compose", tracked="tracked"))
    assert {f.rule for f in run_rules(m)} == {"KD302"}
