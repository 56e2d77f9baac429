"""Compose projects: overrides, variants, include, extends, env_file, interpolation, secrets."""

from __future__ import annotations

from pathlib import Path

from keydrift.model import Model

from .util import ASSETS, model_of, service, services, text, write_tree


def _project() -> Model:
    return model_of(ASSETS / "compose_project")


def test_default_project_merges_override_and_env_file() -> None:
    web = service(_project(), "web", "staging")  # ENVIRONMENT=staging from env/web.env
    assert web.image == "ghcr.io/acme/web:2.3.1"  # ${WEB_TAG:-latest} from the project .env
    assert web.workers == 4 and web.replicas == 1
    # environment: wins over env_file, value interpolated from the project .env
    jwt = web.env["JWT_SECRET"]
    assert text(jwt) == "dotenv-interpolated-secret-0123456789abcdef"
    assert not jwt.literal
    assert [str(s.location) for s in jwt.chain] == ["docker-compose.yml:19", ".env:2"]
    # `$$` is a literal dollar
    assert text(web.env["JWT_SECRET_KEY"]) == "literal$dollar-0123456789abcdefghij"
    # the override file adds a variable
    assert str(web.env["JWT_SECRET_PREVIOUS"].location) == "docker-compose.override.yml:4"


def test_eaten_dollar_has_reader_views() -> None:
    web = service(_project(), "web", "staging")
    session = web.env["SESSION_SECRET"]
    assert text(session) == "ab"
    views = {r.reader: r for r in session.readers}
    assert views["as-written"].value.reveal_text() == "ab$cdefghijklmnopqrstuvwxyz012345"
    assert "eaten" in views["compose-interpolation"].note
    assert "cdef" not in views["compose-interpolation"].note  # no part of the value in notes


def test_variant_file_is_its_own_environment() -> None:
    web = service(_project(), "web", "production")
    assert web.replicas == 4  # scale: 4 in docker-compose.prod.yml
    assert "JWT_SECRET_PREVIOUS" not in web.env  # -f base -f prod does not load the override
    assert text(web.env["JWT_SECRET_PRODUCTION"]) == "prod-default-value-0123456789abcdefgh"


def test_extends_include_replicas_and_passthrough() -> None:
    model = _project()
    worker = service(model, "worker", "staging")
    assert worker.image == "ghcr.io/acme/worker:1.4"  # from common.yml via extends
    assert worker.workers == 2  # celery --concurrency 2 in the extended command
    assert worker.env["API_TOKEN"].value is None  # `- API_TOKEN`: from the deploy shell
    assert {s.environment for s in services(model, "auth")} == {None, "production"}
    langflow = service(model, "langflow", None)
    assert langflow.replicas == 3 and langflow.presets == ("langflow",)
    db = service(model, "db", None)
    assert db.env["POSTGRES_PASSWORD"].value is None  # ${VAR:?msg} unset: required


def test_file_secret_is_mounted_with_newline_views() -> None:
    web = service(_project(), "web", "staging")
    mounted = web.secret_files["/run/secrets/jwt_key"]
    assert text(mounted) == "file-mounted-secret-0123456789abcdefghij"  # one newline dropped
    assert mounted.raw is not None and mounted.raw.reveal_text().endswith("\n")
    assert {r.reader for r in mounted.readers} >= {"mounted-file", "keydrift-resolve"}
    assert str(mounted.location) == "secrets/jwt.txt:1"


def test_env_list_form_workers_variable_and_file_reference(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "compose.yaml": (
            "services:\n"
            "  api:\n"
            "    image: acme/api\n"
            "    environment:\n"
            "      - WEB_CONCURRENCY=5\n"
            "      - JWT_SECRET_FILE=/run/secrets/jwt\n"
            "    secrets: [{source: jwt, target: jwt}]\n"
            "secrets:\n"
            "  jwt:\n"
            "    file: jwt.secret\n"
        ),
        "jwt.secret": "from-a-file-0123456789abcdefghijklmno",
    })
    model = model_of(tmp_path)
    api = service(model, "api")
    assert api.workers == 5
    (effective,) = [e for e in model.effective if e.service is api]
    assert effective.variable == "JWT_SECRET"
    assert text(effective.assignment) == "from-a-file-0123456789abcdefghijklmno"
    assert "JWT_SECRET_FILE -> /run/secrets/jwt" in effective.assignment.chain[0].note


def test_env_file_forms(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "docker-compose.yml": (
            "services:\n"
            "  a:\n"
            "    image: x\n"
            "    env_file: one.env\n"
            "  b:\n"
            "    image: x\n"
            "    env_file: [one.env, two.env]\n"
            "  c:\n"
            "    image: x\n"
            "    env_file:\n"
            "      - path: two.env\n"
            "        required: true\n"
            "      - path: absent.env\n"
            "        required: false\n"
        ),
        "one.env": "JWT_SECRET=from-one-0123456789abcdefghijklmn\n",
        "two.env": "JWT_SECRET=from-two-0123456789abcdefghijklmn\n",
    })
    model = model_of(tmp_path)
    assert text(service(model, "a").env["JWT_SECRET"]) == "from-one-0123456789abcdefghijklmn"
    assert text(service(model, "b").env["JWT_SECRET"]) == "from-two-0123456789abcdefghijklmn"
    c = service(model, "c").env["JWT_SECRET"]
    assert str(c.location) == "two.env:1"
    assert c.chain[0].note == "env_file: two.env"


def test_docker_compose_config_on_stdin(tmp_path: Path) -> None:
    import io

    from keydrift.check import build_model

    piped = (
        "name: demo\nservices:\n  api:\n    image: acme/api\n    deploy:\n      replicas: 2\n"
        "    environment:\n      JWT_SECRET: piped-secret-0123456789abcdefghijkl\n"
    )
    model = build_model(["-"], stdin=io.StringIO(piped))
    api = service(model, "api")
    assert api.replicas == 2 and api.location.path == "-"
    assert text(api.env["JWT_SECRET"]) == "piped-secret-0123456789abcdefghijkl"


def test_shared_config_volume_and_template_files(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "docker-compose.yml": (
            "services:\n"
            "  flow:\n    image: langflowai/langflow:1.1\n    deploy: {replicas: 2}\n"
            "    environment: {LANGFLOW_CONFIG_DIR: /app/langflow}\n"
            "    volumes: [flow-config:/app/langflow]\n"
            "  lone:\n    image: langflowai/langflow:1.1\n    volumes: ['./data:/data']\n"
            "volumes: {flow-config: {}}\n"
        ),
        "docker-compose.example.yml": (
            "services:\n  flow:\n    environment:\n      LANGFLOW_SECRET_KEY: change-me\n"
        ),
    })
    model = model_of(tmp_path)
    flow = service(model, "flow")
    assert [(m.source, m.target, m.persistent) for m in flow.mounts] == [
        ("flow-config", "/app/langflow", True)]
    assert flow.settings["LANGFLOW_CONFIG_DIR"] == "/app/langflow"  # not secret-like: a setting
    assert [(m.source, m.persistent) for m in service(model, "lone").mounts] == [("data", True)]
    (example,) = [a for a in model.assignments if a.variable == "LANGFLOW_SECRET_KEY"]
    assert example.template and example.location.path == "docker-compose.example.yml"
    assert len([a for a in model.assignments if a.variable == "LANGFLOW_CONFIG_DIR"]) == 0
    assert all(not a.template for a in model.assignments if a.location.path == "docker-compose.yml")


def test_included_compose_file_is_not_a_project_of_its_own(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "compose.yaml": "include: [auth/compose.yaml]\nservices:\n  web:\n    image: w\n",
        "auth/compose.yaml": (
            "services:\n  auth:\n    image: a\n    environment:\n"
            "      JWT_SECRET: a-0123456789abcdefghijklmnopqrstuv\n"
        ),
    })
    model = model_of(tmp_path)
    assert sorted(s.name for s in model.services) == ["auth", "web"]


def test_error_in_a_pulled_in_file_names_that_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "docker-compose.yml": "services:\n  web:\n    image: [unclosed\n",
        "docker-compose.staging.yml": (
            "include:\n  - docker-compose.yml\nservices:\n  api:\n    image: w\n"
        ),
    })
    model = model_of(tmp_path)
    reasons = {s.location.path: s.reason for s in model.skipped}
    assert reasons["docker-compose.yml"].startswith("invalid YAML")
    assert reasons["docker-compose.staging.yml"].startswith("docker-compose.yml:")
