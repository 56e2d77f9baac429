"""Python (ast) and shell (shlex) deploy scripts."""

from __future__ import annotations

from pathlib import Path

from keydrift.model import Model
from keydrift.sources._support.cliargs import deploy_target, pairs_from_args, workers_from_args

from .util import ASSETS, model_of, service, text, write_tree


def _scripts() -> Model:
    return model_of(ASSETS / "scripts")


def _at(model: Model, where: str) -> list[str | None]:
    return [text(a) for a in model.assignments if a.service is None and str(a.location) == where]


def test_python_literals_dicts_environ_and_defaults() -> None:
    model = _scripts()
    py = "deploy/deploy_staging.py"
    assert _at(model, f"{py}:8") == ["script-literal-staging-secret-0123456789"]
    envs = {
        a.environment: text(a)
        for a in model.assignments
        if a.location.path == py and a.location.line in (10, 11)
    }
    assert envs == {
        "staging": "dict-staging-secret-0123456789abcdef",
        "production": "dict-production-secret-0123456789abcd",
    }
    assert _at(model, f"{py}:13") == ["environ-assigned-secret-0123456789ab"]
    assert _at(model, f"{py}:14") == ["getenv-default-secret"]
    assert _at(model, f"{py}:15") == ["environ-get-default"]
    assert _at(model, f"{py}:16") == []  # dict.get is not os.environ.get
    assert not [a for a in model.assignments if a.location.path == py and a.location.line < 5]


def test_python_deploy_commands_make_services() -> None:
    model = _scripts()
    auth = service(model, "auth")
    assert auth.platform == "script" and auth.environment == "staging"
    assert text(auth.env["JWT_SECRET"]) == "cli-list-secret-0123456789abcdef"
    worker = service(model, "worker")
    assert text(worker.env["JWT_SECRET"]) == "cli-string-secret-0123456789abcd"


def test_shell_exports_defaults_references_and_continuations() -> None:
    model = _scripts()
    sh = "deploy/deploy.sh"
    assert _at(model, f"{sh}:5") == ["shell-single-quoted-0123456789abcdef"]
    (generated,) = [a for a in model.assignments if str(a.location) == f"{sh}:7"]
    assert generated.value is None and not generated.literal  # $(openssl ...) at run time
    assert _at(model, f"{sh}:8") == ["shell-default-0123456789abcdefghij"]
    billing = service(model, "billing")
    assert billing.environment == "staging"  # `export ENVIRONMENT=staging` above
    assert str(billing.env["JWT_SECRET"].location) == f"{sh}:9"
    assert _at(model, f"{sh}:12") == ["kubectl-literal-0123456789abcdef"]
    assert not [s for s in model.services if s.name == "api-jwt"]  # a Secret, not a service


def test_python_file_without_candidates_is_not_parsed(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "app.py": "def f(token):\n    return token.upper()\n",
        "broken.py": "def (:\n",  # not parsed at all: nothing secret-like in it
        "settings.py": 'SECRET_KEY = "django-insecure-0123456789abcdefghij"\n',
    })
    model = model_of(tmp_path)
    assert model.files == ["settings.py"]
    assert model.skipped == []


def test_cli_argument_helpers() -> None:
    # built, not written as one literal, so `keydrift check .` does not flag this test file
    args = ["gcloud", "run", "deploy", "api", "--set-env-vars=^;^A=1;" + "JWT_SECRET=x,y"]
    assert [(p.key, p.value) for p in pairs_from_args(args)] == [("A", "1"), ("JWT_SECRET", "x,y")]
    assert deploy_target(args) == "api"
    assert deploy_target(["docker", "run", "--name=web", "img"]) == "web"
    assert workers_from_args("gunicorn app:app -w 8") == 8
    assert workers_from_args("uvicorn app:app --workers=3") == 3
    assert workers_from_args("uvicorn app:app") is None


def test_literals_in_test_code_are_marked_like_templates(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "tests/test_login.py": 'JWT_SECRET = "fixture-0123456789abcdefghijklmnop"\n',
        "app/settings.py": 'JWT_SECRET = "real-0123456789abcdefghijklmnopqrs"\n',
    })
    flags = {a.location.path: a.template for a in model_of(tmp_path).assignments}
    assert flags == {"tests/test_login.py": True, "app/settings.py": False}


def test_computed_values_in_python_commands_are_references(tmp_path: Path) -> None:
    write_tree(tmp_path, {"deploy.py": (
        "import os\n"
        "secret = os.environ['S']\n"
        "os.system(f'gcloud run deploy api --set-env-vars=JWT_SECRET={secret}')\n"
        "os.system('gcloud run deploy web --set-env-vars=JWT_SECRET=' + secret)\n"
    )})
    model = model_of(tmp_path)
    values = {a.location.line: a.value for a in model.assignments if a.service is None}
    assert values == {3: None, 4: None}


def test_dockerfile_env_and_arg(tmp_path: Path) -> None:
    write_tree(tmp_path, {"docker/Dockerfile.api": (
        "FROM python:3.12-slim\n"
        "ARG JWT_SECRET_KEY=build-arg-default-0123456789abcdef\n"
        "ENV LOG_LEVEL=info \\\n"
        "    JWT_SECRET=\"baked-into-layer-0123456789abcdefghij\"\n"
        "ENV API_TOKEN legacy-form-token-0123456789abcdefghi\n"
        "ENV SESSION_SECRET=$SESSION_SECRET\n"
    )})
    model = model_of(tmp_path)
    found = {(a.variable, a.location.line): text(a) for a in model.assignments}
    assert found == {
        ("JWT_SECRET_KEY", 2): "build-arg-default-0123456789abcdef",
        ("JWT_SECRET", 3): "baked-into-layer-0123456789abcdefghij",
        ("API_TOKEN", 5): "legacy-form-token-0123456789abcdefghi",
        ("SESSION_SECRET", 6): None,
    }
    assert {a.source for a in model.assignments} == {"dockerfile"}


def test_helm_templates_are_skipped_with_advice(tmp_path: Path) -> None:
    write_tree(tmp_path, {"chart/templates/secret.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}\n"
        "stringData:\n  JWT_SECRET: {{ .Values.jwtSecret | quote }}\n"
    )})
    (skip,) = model_of(tmp_path).skipped
    assert "Helm template" in skip.reason and "helm template" in skip.reason


def test_python_constructs_spanning_lines(tmp_path: Path) -> None:
    write_tree(tmp_path, {"deploy/release.py": (
        "import subprocess\n"
        "JWT_SECRET = (\n"
        "    'parenthesised-0123456789abcdefghijklm'\n"
        ")\n"
        "subprocess.run([\n"
        "    'docker', 'run', '-e',\n"
        "    'API_TOKEN=split-line-token-0123456789abcdefgh',\n"
        "    'acme/api',\n"
        "])\n"
    )})
    found = {a.variable: text(a) for a in model_of(tmp_path).assignments if a.service is None}
    assert found == {
        "JWT_SECRET": "parenthesised-0123456789abcdefghijklm",
        "API_TOKEN": "split-line-token-0123456789abcdefgh",
    }
