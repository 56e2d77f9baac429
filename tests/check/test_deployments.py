"""keydrift check on deployment folders shaped like real self-hosting repositories (issue: deployment
units, one secret under many names, per-process fallbacks in code, defaults, static tokens).

Every tree is written here, modelled on how such projects lay out their deployment folders."""

from __future__ import annotations

import secrets
from pathlib import Path

import jwt

from keydrift.check import build_model

from .deploykit import findings, only, rules, tree

STRONG = "Nk3vQ9xLp2RwT7yZc4Hb8Jm1Fd6Gs0Ue5Ai3Ko9Pq2Wr"


def test_alternative_deployments_are_separate_units(tmp_path: Path) -> None:
    # Four single-instance ways to run one app: each keeps its generated key on its own volume.
    root = tree(tmp_path, {
        "docker-caddy/docker-compose.yml": (
            "services:\n  app:\n    image: n8nio/n8n:1.80\n    volumes: [n8n_data:/home/node/.n8n]\n"
            "volumes: {n8n_data: {}}\n"),
        "docker-compose/withPostgres/docker-compose.yml": (
            "services:\n  app:\n    image: n8nio/n8n:1.80\n"
            "    volumes: [n8n_storage:/home/node/.n8n]\nvolumes: {n8n_storage: {}}\n"),
        "kubernetes/deployment.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  replicas: 1\n"
            "  template:\n    spec:\n      volumes:\n      - name: data\n"
            "        persistentVolumeClaim: {claimName: n8n-claim}\n      containers:\n"
            "      - name: app\n        image: n8nio/n8n:1.80\n        volumeMounts:\n"
            "        - {name: data, mountPath: /home/node/.n8n}\n"),
    })
    model = build_model([str(root)])
    assert len({s.unit for s in model.services}) == 3
    found = findings(root)
    assert "KD102" not in rules(found)  # never "3 processes have no shared key"
    notes = [f for f in found if f.rule == "KD101"]
    assert len(notes) == 3 and all(f.severity == "note" and "backed up" in f.message for f in notes)
    assert len({f.unit for f in notes}) == 3


def test_one_secret_under_many_names_is_one_group(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "docker/docker-compose.yml": (
            "services:\n"
            "  auth:\n    image: acme/auth\n    environment:\n      GOTRUE_JWT_SECRET: ${JWT_SECRET}\n"
            "  rest:\n    image: acme/rest\n    environment:\n      PGRST_JWT_SECRET: ${JWT_SECRET}\n"
            "  realtime:\n    image: acme/rt\n    environment:\n      API_JWT_SECRET: ${JWT_SECRET}\n"),
        "docker/docker-compose.override.yml": (
            "services:\n  rest:\n    environment:\n"
            f"      PGRST_JWT_SECRET: {secrets.token_urlsafe(32)}\n"),
        "docker/.env": f"JWT_SECRET={STRONG}\n",
    }, tracked=False)
    f = only(findings(root), "KD201")
    assert set(f.services) == {"auth", "rest", "realtime"}
    assert "${JWT_SECRET}" in f.message and "PGRST_JWT_SECRET" in f.message
    assert STRONG not in f.message


def test_random_fallback_in_code_runs_in_every_process(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "app/main.py": "import os\n\nJWT_SECRET_KEY = os.getenv('JWT_SECRET_KEY', os.urandom(32).hex())\n",
        "Dockerfile": 'FROM python:3.12\nCOPY app /app\nCMD ["uvicorn", "app.main:app", "--workers", "4"]\n',
        "docker-compose.yml": "services:\n  api:\n    build: .\n    deploy: {replicas: 3}\n",
    })
    f = only(findings(root), "KD102")
    assert "12 processes" in f.message and "app/main.py:3" in f.message
    assert f.variable == "JWT_SECRET_KEY"


def test_django_random_secret_key_in_settings(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "backend/project/settings.py": (
            "import os\nfrom django.core.management.utils import get_random_secret_key\n\n"
            "SECRET_KEY = os.environ.get('SECRET_KEY', get_random_secret_key())\n"),
        "backend/Dockerfile": "FROM python:3.12\nCMD gunicorn project.wsgi -w 2\n",
        "docker-compose.yml": (
            "services:\n"
            "  api:\n    build: ./backend\n"
            "  worker:\n    build: ./backend\n    command: celery -A project worker\n"
            "  beat:\n    build: ./backend\n    command: celery -A project beat\n"),
    })
    f = only(findings(root), "KD102")
    assert set(f.services) == {"api", "worker", "beat"}
    # Setting the variable for every service silences it.
    (root / "docker-compose.yml").write_text(
        "x-env: &env\n  SECRET_KEY: ${SECRET_KEY:?set it}\nservices:\n"
        "  api:\n    build: ./backend\n    environment: *env\n"
        "  worker:\n    build: ./backend\n    environment: *env\n"
        "  beat:\n    build: ./backend\n    environment: *env\n")
    assert "KD102" not in rules(findings(root))


def test_key_generated_at_import_time(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "web/app.py": "import os\nfrom flask import Flask\n\napp = Flask(__name__)\n"
                      "SECRET_KEY = os.urandom(24)\napp.secret_key = SECRET_KEY\n",
        "web/Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-w", "2", "app:app"]\n',
        "compose.yaml": "services:\n  web:\n    build: web\n",
    })
    f = only(findings(root), "KD102")
    assert "import time" in f.message and "web/app.py:5" in f.message and "2 processes" in f.message


def test_unset_interpolation_counts_as_empty(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "docker-compose.yml": "services:\n  api:\n    image: acme/api\n"
                              "    environment:\n      JWT_SECRET: ${JWT_SECRET}\n",
    })
    f = only(findings(root), "KD101")
    assert "empty string" in f.message and f.services == ("api",)


def test_literal_default_shared_by_services_is_an_error_everywhere(tmp_path: Path) -> None:
    value = secrets.token_urlsafe(40)
    root = tree(tmp_path, {
        "docker-compose.yml": (
            f"x-common: &common\n  SECRET_KEY: ${{SECRET_KEY:-{value}}}\nservices:\n"
            "  api:\n    image: acme/api\n    environment: *common\n"
            "  worker:\n    image: acme/worker\n    environment: *common\n"),
        "scripts/start.sh": f"#!/bin/sh\nexport API_TOKEN=${{API_TOKEN:-{secrets.token_hex(24)}}}\n",
    })
    found = [f for f in findings(root) if f.rule == "KD401"]
    compose = next(f for f in found if f.variable == "SECRET_KEY")
    assert compose.severity == "error" and set(compose.services) == {"api", "worker"}
    assert "default of 2 services" in compose.message and value not in compose.message
    assert any(f.variable == "API_TOKEN" and "default" in f.message for f in found)


def test_other_compose_files_are_alternatives_unless_stacked(tmp_path: Path) -> None:
    files = {
        "docker-compose.yml": "services:\n  api:\n    image: acme/api\n"
                              "  debug-ui:\n    image: acme/debug\n",
        "docker-compose.production.yaml": "services:\n  api:\n    image: acme/api\n"
                                          "    deploy: {replicas: 2}\n",
    }
    model = build_model([str(tree(tmp_path / "a", files, tracked=False))])
    assert {s.name: s.environment for s in model.services if s.name == "debug-ui"} == {"debug-ui": None}
    assert len({s.unit for s in model.services}) == 2
    # A Makefile that passes both with -f makes them one project too.
    files["Makefile"] = ("prod:\n\tdocker compose -f docker-compose.yml "
                         "-f docker-compose.production.yaml up -d\n")
    model = build_model([str(tree(tmp_path / "b", files, tracked=False))])
    stacked = [s for s in model.services if " + " in s.unit]
    assert {s.name for s in stacked} == {"api", "debug-ui"}
    assert {s.environment for s in stacked} == {"production"}


def test_bare_entries_resolve_from_the_project_env_file(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "compose.yaml": "services:\n  api:\n    image: acme/api\n    environment: [JWT_SECRET]\n",
        ".env": f"JWT_SECRET={STRONG}\n",
    }, tracked=False)
    api = build_model([str(root)]).services[0]
    assert api.env["JWT_SECRET"].value is not None
    assert api.env["JWT_SECRET"].value.equals(STRONG)


def test_random_value_in_a_tracked_template_is_shared_by_every_copy(tmp_path: Path) -> None:
    value = secrets.token_urlsafe(32)
    root = tree(tmp_path, {
        "docker-compose.yml": "services:\n  api:\n    image: acme/api\n    env_file: .env\n",
        ".env.example": f"JWT_SECRET={value}\nDB_PASSWORD=change-me\nSESSION_SECRET=your-session-secret\n",
    })
    found = findings(root)
    f = only(found, "KD401")
    assert ".env.example" in f.message and f.variable == "JWT_SECRET" and f.services == ("api",)
    assert "KD301" not in rules(found)  # placeholders in templates are the convention


def test_compose_file_with_an_unusual_name(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "deploy/default.yml": "services:\n  api:\n    image: acme/api\n    deploy: {replicas: 2}\n",
    })
    for target in ([str(root)], [str(root / "deploy" / "default.yml")]):
        model = build_model(target)
        assert [(s.name, s.platform, s.replicas) for s in model.services] == [("api", "compose", 2)]


def test_static_token_signed_by_another_secret(tmp_path: Path) -> None:
    template_secret = secrets.token_urlsafe(32)
    anon = jwt.encode({"role": "anon", "exp": 4102444800}, template_secret, algorithm="HS256")
    root = tree(tmp_path, {
        "docker-compose.yml": (
            "services:\n  auth:\n    image: acme/auth\n    environment:\n"
            "      AUTH_JWT_SECRET: ${JWT_SECRET}\n"
            "  gateway:\n    image: acme/gateway\n    environment:\n      ANON_KEY: ${ANON_KEY}\n"),
        ".env.example": f"JWT_SECRET={template_secret}\nANON_KEY={anon}\n",
        ".env": f"JWT_SECRET={STRONG}\nANON_KEY={anon}\n",
    }, tracked=False)
    f = only(findings(root), "KD204")
    assert "verifies with JWT_SECRET at .env.example:1" in f.message
    assert anon not in f.message and template_secret not in f.message and STRONG not in f.message
    unsigned = jwt.encode({"role": "anon"}, None, algorithm="none")
    (root / ".env").write_text(f"JWT_SECRET={STRONG}\nANON_KEY={unsigned}\n")
    assert "alg: none" in only(findings(root), "KD204").message


def test_static_token_check_prints_no_library_warnings(tmp_path: Path) -> None:
    """Trying a short key against a token made PyJWT print InsecureKeyLengthWarning on stderr
    (KD302 already reports the key, with its file)."""
    import subprocess
    import sys

    short = "k3Y9x2QmT7vR"  # 12 random-looking bytes: weak (KD302), not a placeholder
    anon = jwt.encode({"role": "anon"}, short, algorithm="HS256")
    root = tree(tmp_path, {
        "docker-compose.yml": ("services:\n  gateway:\n    image: acme/gateway\n    environment:\n"
                               "      ANON_KEY: ${ANON_KEY}\n      JWT_SECRET: ${JWT_SECRET}\n"),
        ".env": f"JWT_SECRET={short}\nANON_KEY={anon}\n",
    }, tracked=False)
    proc = subprocess.run([sys.executable, "-W", "default", "-m", "keydrift", "check",
                           str(root), "--format", "json"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "[KD302]" in proc.stderr
    assert "Warning" not in proc.stderr and "RFC 7518" not in proc.stderr, proc.stderr
