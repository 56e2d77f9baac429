"""Kustomize generators: the Secrets overlays make, linked to the base workloads that use them."""

from __future__ import annotations

import secrets
from pathlib import Path

from keydrift.model.types import Effective, Model
from keydrift.rules.interface import run_rules
from tests.sources.util import model_of, text, write_tree

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: api
        image: acme/api:1
        env:
        - name: JWT_SECRET
          valueFrom: {secretKeyRef: {name: jwt, key: JWT_SECRET}}
"""

BASE = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml]\n"


def overlay(namespace: str, generator: str) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"namespace: {namespace}\nresources: [../../base]\nsecretGenerator:\n- name: jwt\n"
        + generator
    )


def tree(tmp_path: Path, overlays: dict[str, str | bytes]) -> Path:
    files: dict[str, str | bytes] = {"k8s/base/deployment.yaml": DEPLOYMENT,
                                     "k8s/base/kustomization.yaml": BASE}
    files.update({f"k8s/overlays/{rel}": content for rel, content in overlays.items()})
    return write_tree(tmp_path, files)


def effective(model: Model, environment: str) -> Effective:
    (e,) = [e for e in model.effective if e.service.name == "api" and e.environment == environment]
    return e


def test_literals_reach_the_base_workload_per_overlay(tmp_path: Path) -> None:
    staging, production = secrets.token_urlsafe(40), secrets.token_urlsafe(40)
    root = tree(tmp_path, {
        "staging/kustomization.yaml": overlay("staging", f"  literals:\n  - JWT_SECRET={staging}\n"),
        "production/kustomization.yaml": overlay(
            "production", f"  literals:\n  - JWT_SECRET={production}\n"),
    })
    model = model_of(root)
    e = effective(model, "staging")
    assert text(e.assignment) == staging
    assert e.assignment is not None and str(e.assignment.location) == (
        "k8s/overlays/staging/kustomization.yaml:8")
    assert e.service.replicas == 3
    assert text(effective(model, "production").assignment) == production
    assert [f.rule for f in run_rules(model)] == []


def test_placeholder_literal_in_production_is_found(tmp_path: Path) -> None:
    root = tree(tmp_path, {"production/kustomization.yaml": overlay(
        "production", "  literals:\n  - JWT_SECRET=your-production-jwt-secret-change-me\n")})
    found = [(f.rule, f.severity.value, f.environment) for f in run_rules(model_of(root))]
    assert ("KD301", "error", "production") in found


def test_envs_file_keeps_quotes_as_the_pod_sees_them(tmp_path: Path) -> None:
    value = secrets.token_urlsafe(40)
    root = tree(tmp_path, {
        "staging/kustomization.yaml": overlay("staging", "  envs: [secrets.env]\n"),
        "staging/secrets.env": f'JWT_SECRET="{value}"\n',
    })
    model = model_of(root)
    e = effective(model, "staging")
    assert text(e.assignment) == f'"{value}"'  # kustomize, like kubectl --from-env-file
    assert e.assignment is not None
    assert {r.reader for r in e.assignment.readers} >= {"kustomize-envs", "python-dotenv"}
    rules = {f.rule for f in run_rules(model)}
    assert "KD501" in rules and "KD202" not in rules  # one written value read two ways


def test_files_keep_the_trailing_newline(tmp_path: Path) -> None:
    value = secrets.token_urlsafe(40)
    root = tree(tmp_path, {
        "staging/kustomization.yaml": overlay("staging", "  files:\n  - JWT_SECRET=jwt.txt\n"),
        "staging/jwt.txt": value + "\n",
    })
    model = model_of(root)
    e = effective(model, "staging")
    assert text(e.assignment) == value + "\n"
    assert "KD501" in {f.rule for f in run_rules(model)}


def test_references_outside_the_tree_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.env"
    outside.write_text(f"JWT_SECRET={secrets.token_urlsafe(40)}\n")
    root = tree(tmp_path / "repo", {
        "staging/kustomization.yaml": overlay("staging", "  envs: [../../../../outside.env]\n"),
    })
    model = model_of(root)
    assert all("outside" not in f for f in model.files)
    winner = effective(model, "staging").assignment
    assert winner is None or winner.value is None
