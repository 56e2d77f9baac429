"""Precision on shapes seen in real self-hosting repositories: value kinds, secret kinds,
persisted keys, presets, one finding per cause, no false greens. Trees are written here."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from keydrift.check import build_model, run_check
from keydrift.errors import UsageError
from keydrift.model.config import parse_config

from ..check.deploykit import findings, only, rules, tree

STRONG = "Nk3vQ9xLp2RwT7yZc4Hb8Jm1Fd6Gs0Ue5Ai3Ko9Pq2Wr"


def test_numbers_flags_and_expansions_are_never_secrets(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        ".env": "JWT_EXP=3600\nENABLE_EMAIL_PASSWORD=1\nGOOGLE_CLIENT_SECRET=0\nSECRET_ENABLED=true\n",
        "docker-compose.yml": "services:\n  auth:\n    image: acme/auth\n    env_file: .env\n"
                              "    environment:\n      GOTRUE_JWT_EXP: 3600\n"
                              "      PGRST_APP_SETTINGS_JWT_EXP: 3600\n",
        "entrypoint.sh": ('for key in $(env | grep ^SECRETS_); do\n'
                          '  local SECRET_KEY="${key#SECRETS_}"\n  SECRET_VAR="${!key}"\ndone\n'),
        "app/settings.py": ("import os\n"
                            "ENABLE_EMAIL_PASSWORD = os.environ.get('ENABLE_EMAIL_PASSWORD', '1')\n"),
    })
    assert rules(findings(root)) == []


def test_non_signing_secrets_are_worded_as_what_they_are(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "k8s/secret.yaml": ("apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: production}\n"
                            "stringData:\n  POSTGRES_PASSWORD: change-me-in-production\n"),
        "k8s/app.yaml": ("apiVersion: apps/v1\nkind: Deployment\n"
                         "metadata: {name: app, namespace: production}\n"
                         "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n"
                         "        image: acme/app\n        envFrom:\n        - secretRef: {name: db}\n"),
    })
    found = findings(root)
    f = only(found, "KD301")
    assert "(password)" in f.message and "sign tokens" not in f.runtime_effect
    assert "log in" in f.runtime_effect


def test_n8n_placeholder_encryption_key_is_a_placeholder_not_a_short_hmac_key(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "withWorker/.env": "ENCRYPTION_KEY=changeEncryptionKey\n",
        "withWorker/docker-compose.yml": (
            "x-n8n: &n8n\n  image: n8nio/n8n:1.80\n  environment:\n"
            "    N8N_ENCRYPTION_KEY: ${ENCRYPTION_KEY}\nservices:\n"
            "  n8n:\n    <<: *n8n\n  n8n-worker:\n    <<: *n8n\n    command: worker\n"),
    })
    found = findings(root)
    f = only(found, "KD301")
    assert "encryption key" in f.message and "RFC 7518" not in f.message
    assert set(f.services) == {"n8n", "n8n-worker"}
    assert "KD302" not in rules(found)


def test_single_quoted_dollar_in_a_tracked_env_file_is_still_a_secret(tmp_path: Path) -> None:
    value = "k3v$Q9xLp2RwT7yZc4Hb8Jm1Fd6Gs0Ue5Ai3Ko9Pq2W"
    root = tree(tmp_path, {"backend/.env": f"SECRET_KEY='{value}'\n"})
    f = only(findings(root), "KD402")
    assert "SECRET_KEY" in f.message and value not in f.message


def test_persisted_key_of_one_process_is_a_note_and_more_processes_stay_errors(tmp_path: Path) -> None:
    one = tree(tmp_path / "one", {
        "docker-compose.yml": (
            "services:\n  langflow:\n    image: langflowai/langflow:1.1\n"
            "    environment: [LANGFLOW_CONFIG_DIR=/app/langflow]\n"
            "    volumes: [langflow-data:/app/langflow]\n"
            "  frontend:\n    image: langflowai/langflow-frontend:1.1\n"
            "volumes: {langflow-data: {}}\n"),
    })
    f = only(findings(one), "KD101")
    assert f.severity == "note" and "langflow-data" in f.message and f.services == ("langflow",)
    two = tree(tmp_path / "two", {
        "docker-compose.yml": (
            "x-backend: &backend\n  image: langflowai/langflow-backend:1.1\nservices:\n"
            "  backend:\n    <<: *backend\n"
            "  celeryworker:\n    <<: *backend\n    command: python -m celery -A langflow.worker worker\n"
            "  flower:\n    <<: *backend\n    command: python -m celery -A langflow.worker flower\n"
            "  frontend:\n    image: langflowai/langflow-frontend:latest\n"),
    })
    f = only(findings(two), "KD102")
    assert set(f.services) == {"backend", "celeryworker"}  # not nginx, not the Flower monitor


def test_airflow_watches_the_execution_api_jwt_secret(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "docker-compose.yaml": (
            "x-airflow-common: &airflow-common\n  image: apache/airflow:3.0.2\n  environment:\n"
            "    AIRFLOW__CORE__EXECUTOR: CeleryExecutor\n"
            "  volumes:\n    - ./config:/opt/airflow/config\nservices:\n"
            "  airflow-apiserver:\n    <<: *airflow-common\n    command: api-server\n"
            "  airflow-scheduler:\n    <<: *airflow-common\n    command: scheduler\n"
            "  airflow-worker:\n    <<: *airflow-common\n    command: celery worker\n"
            "  airflow-init:\n    <<: *airflow-common\n    command: version\n"),
    })
    f = only(findings(root), "KD102")
    assert f.variable == "AIRFLOW__API_AUTH__JWT_SECRET" and "AIRFLOW__API_AUTH__JWT_SECRET" in f.fix
    assert "Signature verification failed" in f.runtime_effect
    # [api] secret_key is written once into the shared config/ by airflow-init: no finding.
    assert all("SECRET_KEY" not in (g.variable or "") for g in findings(root))


def test_open_webui_key_file_is_outside_the_data_volume(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "docker-compose.yaml": ("services:\n  open-webui:\n    image: ghcr.io/open-webui/open-webui:main\n"
                                "    volumes: [open-webui:/app/backend/data]\nvolumes: {open-webui: {}}\n"),
    })
    f = only(findings(root), "KD101")
    assert f.severity == "warning" and ".webui_secret_key" in f.runtime_effect
    assert "recreated" in f.runtime_effect


def test_builder_stage_arguments_never_reach_the_image(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "Dockerfile": ("FROM node:20 AS builder\nARG AUTH_SECRET=secret\nRUN npm run build\n"
                       "FROM nginx:1.27\nCOPY --from=builder /app/dist /usr/share/nginx/html\n"),
    })
    assert rules(findings(root)) == []
    (root / "Dockerfile").write_text("FROM nginx:1.27\nARG AUTH_SECRET=secret\n")
    assert "KD302" in rules(findings(root)) or "KD301" in rules(findings(root))


def test_known_weak_value_outside_known_names_read_through_bare_entries(tmp_path: Path) -> None:
    names = [f"svc{i}" for i in range(6)]
    compose = "services:\n" + "".join(
        f"  {n}:\n    image: acme/{n}\n    environment: [RPC_SECRET]\n" for n in names)
    root = tree(tmp_path, {"docker-compose.yml": compose, ".env": "RPC_SECRET=password123\n"})
    f = only(findings(root), "KD302")
    assert f.variable == "RPC_SECRET" and set(f.services) == set(names)
    assert "public list" in f.message and "entry" not in f.message


@pytest.mark.parametrize("value", ["ChangeMeInProduction", "changeEncryptionKey", "myapp_jwt_secret",
                                   "randomtokensecret", "airflow_jwt_secret"])
def test_placeholders_in_app_wording_are_found(tmp_path: Path, value: str) -> None:
    root = tree(tmp_path, {"deploy.sh": f"export JWT_SECRET={value}\nkubectl apply -f k8s/\n"})
    assert "KD301" in rules(findings(root)) or "KD302" in rules(findings(root))


def test_unknown_environment_is_a_usage_error_not_a_pass(tmp_path: Path) -> None:
    root = tree(tmp_path, {"staging.env": f"JWT_SECRET={STRONG}\n"}, tracked=False)
    with pytest.raises(UsageError) as err:
        run_check([str(root)], environments=["stagign"])
    assert "staging" in (err.value.advice or "")


def test_production_like_default_fails_ci_for_an_any_environment_placeholder(tmp_path: Path) -> None:
    root = tree(tmp_path, {"deploy.sh": "export JWT_SECRET=your-jwt-secret-here\n"}, tracked=False)
    assert only(findings(root), "KD301").severity == "warning"
    strict = parse_config({"production_like_default": True}, where="keydrift.toml")
    assert only(findings(root, config=strict), "KD301").severity == "error"


def test_one_value_under_several_environment_guesses_is_one_finding(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "docker-compose.yml": "services:\n  api:\n    image: acme/api\n"
                              "    environment:\n      JWT_SECRET: your-jwt-secret-here\n",
        "staging.env": f"JWT_SECRET_STAGING={STRONG}\n",
        "production.env": f"JWT_SECRET_PRODUCTION={secrets.token_urlsafe(32)}\n",
    }, tracked=False)
    model = build_model([str(root)])
    assert model.environments == ["production", "staging"]
    placeholder = [f for f in findings(root) if f.rule == "KD301"]
    assert len(placeholder) == 1


def test_superset_websocket_json_secret_must_equal_the_async_queries_secret(tmp_path: Path) -> None:
    files = {
        "docker-compose.yml": (
            "x-superset: &superset\n  image: apache/superset:4.1.1\n  environment:\n"
            f"    SUPERSET_SECRET_KEY: {secrets.token_urlsafe(42)}\n"
            "    GLOBAL_ASYNC_QUERIES_JWT_SECRET: ${GAQ_SECRET}\nservices:\n"
            "  superset:\n    <<: *superset\n"
            "  superset-worker:\n    <<: *superset\n    command: celery worker\n"
            "  superset-websocket:\n    build: ./superset-websocket\n    image: superset-websocket\n"
            "    volumes: ['./superset-websocket:/home/superset-websocket']\n"
            "  db:\n    image: postgres:16\n"),
        ".env": f"GAQ_SECRET={STRONG}\n",
        "superset-websocket/config.json": (
            '{\n  "port": 8080,\n  "jwtAlgorithms": ["HS256"],\n'
            f'  "jwtSecret": "{secrets.token_urlsafe(42)}",\n  "jwtCookieName": "async-token"\n}}\n'),
    }
    root = tree(tmp_path / "drift", files, tracked=False)
    f = only(findings(root), "KD201")
    assert set(f.services) == {"superset", "superset-worker", "superset-websocket"}
    assert "jwtSecret" in " ".join(str(s) for s in f.steps) or "jwtSecret" in f.message
    # The same value in both places: nothing to report, and db never counts as a Superset service.
    files["superset-websocket/config.json"] = ('{"jwtSecret": "' + STRONG + '"}\n')
    agree = findings(tree(tmp_path / "agree", files, tracked=False))
    assert "KD201" not in rules(agree)
    assert all("db" not in f.services for f in agree)


def test_an_absent_optional_env_file_makes_up_no_environment(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        "docker-compose.yml": (
            "services:\n  superset:\n    image: apache/superset:4.1.1\n    env_file:\n"
            "      - path: docker/.env\n        required: true\n"
            "      - path: docker/.env-local\n        required: false\n"),
        "docker/.env": "DATABASE_DB=superset\n",
    }, tracked=False)
    model = build_model([str(root)])
    assert model.environments == [] and model.services[0].environment is None
    (root / "docker" / ".env-local").write_text("SUPERSET_LOAD_EXAMPLES=no\n")
    assert build_model([str(root)]).services[0].environment == "development"
