"""Kubernetes manifests: pod templates, Secrets, ConfigMaps, lists, overlays, stdin."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from keydrift.check import build_model
from keydrift.model import Model
from keydrift.sources.kubernetes import decode_secret_data

from .util import ASSETS, file_level, model_of, service, text, write_tree


def _k8s() -> Model:
    return model_of(ASSETS / "k8s")


def test_base_workload_links_to_the_overlay_secrets() -> None:
    model = _k8s()
    api = service(model, "api", "staging")  # ENVIRONMENT=staging in the pod template
    assert api.replicas == 3 and api.workers == 2  # spec.replicas, args --workers 2
    assert api.image == "registry.example.com/api:1.8.0"
    jwt = api.env["JWT_SECRET"]
    assert str(jwt.location) == "overlays/staging/secret.yaml:9"
    assert jwt.chain[0].note == "JWT_SECRET from Secret api-jwt key jwt-secret"
    # envFrom with prefix, from a Secret with stringData; and from a ConfigMap
    assert text(api.env["APP_JWT_SECRET_KEY"]) == "staging-string-data-key-0123456789abcdef"
    assert "DB_HOST" not in api.env and "APP_DB_HOST" not in api.env
    assert text(api.env["JWT_SECRET_PREVIOUS"]) == "configmap-held-secret-0123456789abcdef"


def test_double_base64_is_visible_to_readers() -> None:
    api = service(_k8s(), "api", "staging")
    jwt = api.env["JWT_SECRET"]
    inner = base64.b64encode(b"staging-jwt-secret-0123456789abcdef").decode()
    assert text(jwt) == inner  # what the pod sees: decoded once
    views = {r.reader: r.value.reveal_text() for r in jwt.readers}
    assert views["base64-decoded-twice"] == "staging-jwt-secret-0123456789abcdef"


def test_secret_volume_becomes_a_mounted_file() -> None:
    api = service(_k8s(), "api", "staging")
    mounted = api.secret_files["/etc/signing/key.pem"]
    assert text(mounted) == "signing-key-with-trailing-newline"
    assert {r.reader for r in mounted.readers} >= {"mounted-file", "keydrift-resolve"}


def test_list_cronjob_and_namespace_environment() -> None:
    model = _k8s()
    cleanup = service(model, "token-cleanup")
    assert cleanup.environment == "production"
    assert text(cleanup.env["JWT_SECRET"]) == "production-jwt-secret-0123456789abcdefghij"
    envs = {a.environment for a in file_level(model, "jwt-secret")}
    assert envs == {"staging", "production"}


def test_kustomize_base_without_environment_is_split_per_overlay(tmp_path: Path) -> None:
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: jwt}}\n"
        "stringData: {{JWT_SECRET: {value}}}\n"
    )
    write_tree(tmp_path, {
        "base/deploy.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
            "  template:\n    spec:\n      containers:\n      - name: web\n        image: w\n"
            "        envFrom: [{secretRef: {name: jwt}}]\n"
        ),
        "overlays/staging/secret.yaml": secret.format(value="s-0123456789abcdefghijklmnopqrstu"),
        "overlays/production/secret.yaml": secret.format(value="p-0123456789abcdefghijklmnopqrst"),
    })
    model = model_of(tmp_path)
    assert text(service(model, "web", "staging").env["JWT_SECRET"]).startswith("s-")
    assert text(service(model, "web", "production").env["JWT_SECRET"]).startswith("p-")


def test_missing_secret_reference_is_unknown_not_missing(tmp_path: Path) -> None:
    write_tree(tmp_path, {"k8s/deploy.yaml": (
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: qa}\n"
        "spec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: db\n"
        "        image: d\n        env:\n        - name: JWT_SECRET\n          valueFrom:\n"
        "            secretKeyRef: {name: elsewhere, key: jwt}\n"
    )})
    db = service(model_of(tmp_path), "db")
    assert db.environment == "qa" and db.replicas == 2
    assert db.env["JWT_SECRET"].value is None
    assert "not in the scanned files" in db.env["JWT_SECRET"].chain[-1].note


def test_kubectl_output_on_stdin() -> None:
    piped = (ASSETS / "k8s" / "overlays" / "production" / "list.yaml").read_text()
    model = build_model(["-"], stdin=io.StringIO(piped))
    cleanup = service(model, "token-cleanup")
    assert text(cleanup.env["JWT_SECRET"]) == "production-jwt-secret-0123456789abcdefghij"


def test_decode_secret_data() -> None:
    once, twice = decode_secret_data(base64.b64encode(b"plain value!").decode())
    assert once == b"plain value!" and twice is None
    assert decode_secret_data("not base64 !!") == (None, None)


def test_env_wins_over_env_from_and_later_env_from_wins(tmp_path: Path) -> None:
    def secret(name: str, value: str) -> str:
        return (
            f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\n"
            f"stringData: {{JWT_SECRET: {value}, JWT_SECRET_KEY: {value}}}\n---\n"
        )

    write_tree(tmp_path, {"all.yaml": (
        secret("first", "first-0123456789abcdefghijklmnopqrst")
        + secret("second", "second-0123456789abcdefghijklmnopqrs")
        + "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - name: p\n    image: i\n"
        "    envFrom: [{secretRef: {name: first}}, {secretRef: {name: second}}]\n"
        "    env: [{name: JWT_SECRET, value: explicit-0123456789abcdefghijklmnopq}]\n"
    )})
    pod = service(model_of(tmp_path), "p")
    assert text(pod.env["JWT_SECRET"]) == "explicit-0123456789abcdefghijklmnopq"
    assert text(pod.env["JWT_SECRET_KEY"]) == "second-0123456789abcdefghijklmnopqrs"


def test_autoscaler_counts_its_maximum(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "deploy.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\n"
            "spec:\n  template:\n    spec:\n      containers: [{name: web, image: w}]\n"
        ),
        "hpa.yaml": (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
            "metadata: {name: web, namespace: prod}\n"
            "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
            "  minReplicas: 1\n  maxReplicas: 6\n"
        ),
    })
    assert service(model_of(tmp_path), "web").replicas == 6
