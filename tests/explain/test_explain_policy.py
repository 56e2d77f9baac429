"""Issue 11: explain judges candidates with resolve()'s own strength policy, names the delivering
source (never a template when a delivered source holds the value), judges the token's environment
only, and lists each distinct value once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from keydrift.check import build_model
from keydrift.errors import WeakSecretError
from keydrift.explain import from_flags, from_model, from_process_env, render_text, to_json
from keydrift.explain.schema import SCHEMA
from keydrift.resolve import resolve, strength_policy
from keydrift.spec import DEFAULT_JWT_SPEC
from keydrift.strength import known_weak_entries
from tests.explain.explain_helpers import OTHER, STRONG, cand, run, sign

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PLACEHOLDER = "your-secure-jwt-secret-key-staging-64-chars-minimum-for-security"
REAL = "M2vJq8Lw4ZcR7tNx1BfH6sKd9PyG3aUe5VnT0iQoXrEw"  # staging.env of the incident example


@pytest.fixture
def incident(tmp_path: Path) -> Path:
    dest = tmp_path / "incident"
    shutil.copytree(EXAMPLES / "incident-staging-placeholder", dest)
    return dest


def test_resolve_and_explain_share_one_policy_function() -> None:
    # The function explain calls is the one resolve() raises from: same decision, same input.
    policy = strength_policy(DEFAULT_JWT_SPEC, "staging", PLACEHOLDER)
    assert policy is not None and policy.refused and policy.report.has("placeholder")
    with pytest.raises(WeakSecretError):
        resolve(environment="staging", env={"JWT_SECRET_STAGING": PLACEHOLDER})
    development = strength_policy(DEFAULT_JWT_SPEC, "development", PLACEHOLDER)
    assert development is not None and not development.refused
    assert resolve(environment="development", env={"JWT_SECRET": PLACEHOLDER}).warnings


def test_placeholder_incident_is_rejected_and_names_the_deploy_script(incident: Path) -> None:
    model = build_model([str(incident)])
    e = run(sign(PLACEHOLDER), *from_model(model), model=model)
    v = e.verdict
    assert (v.status, v.reason, v.exit_code) == ("rejected", "placeholder", 1)
    assert v.source is not None
    assert (v.source.path, v.source.template) == ("deploy/deploy_staging.py", False)
    assert v.summary.startswith(
        "signed with JWT_SECRET_STAGING from deploy/deploy_staging.py:")
    assert "refuses in staging" in v.summary
    # The template that documents the same value is listed, never the headline.
    assert [(c.path, c.template) for c in v.also_in] == [(".env.example", True)]
    # The services that hold the real value, and reject the token, are named.
    assert sorted({s.service for s in v.rejected_by}) == ["auth", "backend"]
    assert {s.location for s in v.rejected_by} == {"staging.env:3"}
    assert "the services holding the real value reject it: auth, backend" in v.summary
    assert v.advice is not None and "deploy/deploy_staging.py" in v.advice
    doc = to_json(e)
    jsonschema.validate(doc, SCHEMA)
    assert doc["verdict"]["also_in"][0]["template"] is True
    # The real value verifies in staging.
    assert run(sign(REAL), *from_model(model), model=model).verdict.status == "verified"


def test_placeholder_in_the_process_environment_is_rejected() -> None:
    env = {"ENVIRONMENT": "staging", "JWT_SECRET_STAGING": PLACEHOLDER}
    e = run(sign(PLACEHOLDER), *from_process_env(env))
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "placeholder")
    assert e.verdict.source is not None and e.verdict.source.origin == "env"
    # JWT_SECRET (no environment in its name) is judged in the process's ENVIRONMENT.
    e = run(sign(PLACEHOLDER), *from_process_env({"ENVIRONMENT": "prod",
                                                  "JWT_SECRET": PLACEHOLDER}))
    assert e.verdict.reason == "placeholder"
    assert e.environment == "production"


def test_environment_flag_applies_the_policy_to_secret_files(tmp_path: Path) -> None:
    path = tmp_path / "jwt"
    path.write_text("change-me-please-0123456789-abcdefghijkl")
    token = sign("change-me-please-0123456789-abcdefghijkl")
    [c] = from_flags([], [str(path)], env={}, environment="staging")
    assert run(token, c).verdict.reason == "placeholder"
    [c] = from_flags([], [str(path)], env={})
    e = run(token, c)
    # Outside production-like environments resolve() accepts it with a warning; so does explain.
    assert e.verdict.status == "verified"
    assert [f.code for f in e.findings if f.code == "weak_key"] == ["weak_key"]


def test_too_short_secret_in_production_is_weak_secret() -> None:
    short = "Qw3rTy7uIo9p"  # 12 random-looking characters: only the length is wrong
    e = run(sign(short), cand(short, "JWT_SECRET_PRODUCTION", path="prod.env",
                              environment="production"))
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "weak_secret")
    assert "RFC 7518" in e.verdict.summary
    assert e.verdict.advice is not None and "KD302" in e.verdict.advice


def test_known_weak_hit_never_prints_the_list_index() -> None:
    entries = known_weak_entries()
    index = next(i for i in range(len(entries) // 2, len(entries))
                 if len(entries[i]) >= 12 and entries.index(entries[i]) == i)
    entry = entries[index]
    e = run(sign(entry), cand(entry, "JWT_SECRET_STAGING", environment="staging"))
    assert e.verdict.reason == "weak_secret"
    assert "in a public list of known JWT secrets" in e.verdict.summary
    text = render_text(e)
    doc = to_json(e)
    jsonschema.validate(doc, SCHEMA)
    for number in (str(index + 1), str(index)):
        assert f"entry {number}" not in text and f"entry {number}" not in json.dumps(doc)
    assert "entry" not in doc["weak_secret"]
    shown = to_json(e, show_weak_secret=True)["weak_secret"]
    assert (shown["entry"], shown["secret"]) == (index + 1, entry.decode())


def test_template_is_never_the_headline(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text(f"JWT_SECRET_STAGING={STRONG}\n")
    (tmp_path / "staging.env").write_text(f"JWT_SECRET_STAGING={STRONG}\n")
    model = build_model([str(tmp_path)])
    candidates = from_model(model)
    # Listed template-first, so a plain "first match" rule would pick the template.
    candidates.sort(key=lambda c: not c.template)
    e = run(sign(STRONG), *candidates, model=model)
    assert e.verdict.status == "verified"
    assert e.verdict.source is not None and e.verdict.source.path == "staging.env"
    assert [c.path for c in e.verdict.also_in] == [".env.example"]
    assert "also in: JWT_SECRET_STAGING from .env.example:1 (template)" in render_text(e)


def test_template_alone_is_still_named(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text(f"JWT_SECRET_STAGING={STRONG}\n")
    model = build_model([str(tmp_path)])
    e = run(sign(STRONG), *from_model(model), model=model)
    assert e.verdict.source is not None and e.verdict.source.template


def _staging_only(tmp_path: Path) -> Path:
    (tmp_path / "staging.env").write_text(f"ENVIRONMENT=staging\nJWT_SECRET_STAGING={STRONG}\n")
    (tmp_path / ".env.production").write_text(f"JWT_SECRET_PRODUCTION={OTHER}\n")
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  api:\n    image: example/api\n    env_file: staging.env\n")
    return tmp_path


def test_token_of_an_environment_with_no_known_service(tmp_path: Path) -> None:
    model = build_model([str(_staging_only(tmp_path))])
    e = run(sign(OTHER), *from_model(model), model=model)
    v = e.verdict
    assert (v.status, v.exit_code) == ("verified", 0), v.summary
    assert e.environment == "production"
    assert v.summary.endswith("; no known service in environment production")
    assert any(n.startswith("no known service in environment production") for n in e.notes)
    # The staging service is still shown, but does not judge a production token.
    assert e.services is not None and [s.environment for s in e.services] == ["staging"]
    assert "staging  (the token's environment)" not in render_text(e)
    # Named as the verifier's environment, the answer is the same.
    e = run(sign(OTHER), *from_model(model, "production"), model=model,
            environment="production")
    assert e.verdict.status == "verified"
    # A staging token is judged by the staging service.
    e = run(sign(STRONG), *from_model(model), model=model)
    assert e.environment == "staging" and "no known service" not in e.verdict.summary


def test_stray_key_is_still_rejected_within_the_tokens_environment(tmp_path: Path) -> None:
    model = build_model([str(_staging_only(tmp_path))])
    stray = cand("Lk8Tq2Wn6Rb4Xm1Vz9Pc3Yh7Gd5Fs0Aj", "JWT_SECRET_STAGING", role="known",
                 path="old/staging.env", environment="staging")
    e = run(sign("Lk8Tq2Wn6Rb4Xm1Vz9Pc3Yh7Gd5Fs0Aj"), *from_model(model), stray, model=model)
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "signature")
    assert "of environment staging reject the signature" in e.verdict.summary


def test_one_line_per_distinct_value(incident: Path) -> None:
    model = build_model([str(incident)])
    e = run(sign(PLACEHOLDER), *from_model(model), model=model)
    assert len(e.candidates) > len(e.values) == 2
    text = render_text(e)
    section = text.split("\ncandidates (", 1)[1].split("\n\n", 1)[0].splitlines()
    assert section[0].startswith("2 distinct values in ")
    assert len(section) == 3
    placeholder_line = next(line for line in section if "verifies as it is" in line)
    assert "deploy/deploy_staging.py" in placeholder_line and ".env.example" in placeholder_line
    assert placeholder_line.index("deploy/") < placeholder_line.index(".env.example")
    real_line = next(line for line in section if line.strip().split()[2] == "no:")
    assert "staging.env:3 [services" in real_line and "auth" in real_line
    assert "backend" in real_line
    doc = to_json(e)
    assert [len(v["sources"]) for v in doc["values"]] == [
        len(g.candidates) for g in e.values]
