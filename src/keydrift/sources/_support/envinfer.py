"""Environment names inferred from paths, namespaces and variable names.

``.env.staging``, ``staging.env``, ``docker-compose.prod.yml``, ``overlays/production/x.yaml``
and ``k8s/staging/`` all say which environment a file is for. Config ``file_environments``
(glob -> environment) wins over inference.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from keydrift.model.names import is_template_path
from keydrift.spec import normalize_environment

__all__ = [
    "ENVIRONMENT_VARIABLES",
    "KNOWN_ENVIRONMENTS",
    "environment_from_name",
    "environment_from_path",
    "environment_from_settings",
    "environment_from_variable",
    "is_template_path",
    "is_test_code",
]

# Variables that name the deployment environment, in the order readers consult them (the
# spec's default is ENVIRONMENT). NODE_ENV is not one: it is a build mode, "production" even on
# a developer's machine.
ENVIRONMENT_VARIABLES = ("ENVIRONMENT", "APP_ENV", "DEPLOY_ENV", "ENV", "STAGE")

# Spellings recognised as environment names (normalized by spec.normalize_environment).
KNOWN_ENVIRONMENTS = frozenset(
    {
        "development",
        "dev",
        "develop",
        "local",
        "staging",
        "stage",
        "stg",
        "production",
        "prod",
        "prd",
        "live",
        "test",
        "testing",
        "tst",
        "qa",
        "uat",
        "preprod",
        "pre-prod",
        "preview",
        "sandbox",
        "demo",
        "ci",
    }
)
# Directory names that would be misread as environments: `tests/` holds test code, not a
# deployment for the "test" environment.
_NOT_DIR_ENVS = frozenset({"test", "testing", "tst", "ci", "demo", "local", "dev", "develop"})
_SPLIT = re.compile(r"[._\-]+")
_SKIP_TOKENS = frozenset(
    {
        "env",
        "docker",
        "compose",
        "yml",
        "yaml",
        "override",
        "example",
        "sample",
        "template",
        "k8s",
        "kubernetes",
        "values",
        "deploy",
    }
)


def _token_env(token: str, extra: frozenset[str]) -> str | None:
    low = token.lower()
    if low in KNOWN_ENVIRONMENTS or low in extra:
        return normalize_environment(low)
    return None


def environment_from_name(name: str, extra: Iterable[str] = ()) -> str | None:
    """The environment a file or namespace name mentions (``myapp-staging`` -> ``staging``)."""
    extras = frozenset(e.lower() for e in extra)
    low = name.lower()
    if low in extras or low in KNOWN_ENVIRONMENTS:
        return normalize_environment(low)
    for token in reversed(_SPLIT.split(low)):
        if token in _SKIP_TOKENS:
            continue
        env = _token_env(token, extras)
        if env:
            return env
    return None


_CODE_EXT = (".py", ".js", ".ts", ".go", ".rb", ".java", ".sh", ".bash")
_TEST_WORDS = frozenset({"test", "tests", "testing", "tst"})


@lru_cache(maxsize=65536)
def _path_env(path: str, extras: frozenset[str]) -> str | None:
    parts = path.split("/")
    name = parts[-1]
    if name.lower().endswith(_CODE_EXT):
        # `test_app.py` / `app_test.go` are test code, not files for the "test" environment
        stem = name.rsplit(".", 1)[0]
        name = "_".join(t for t in _SPLIT.split(stem) if t.lower() not in _TEST_WORDS)
    env = environment_from_name(name, extras) if name else None
    if env:
        return env
    for part in reversed(parts[:-1]):
        low = part.lower()
        if low in _NOT_DIR_ENVS and low not in extras:
            continue
        env = _token_env(low, extras)
        if env:
            return env
    return None


def environment_from_path(
    path: str,
    file_environments: Mapping[str, str] | None = None,
    extra: Iterable[str] = (),
) -> str | None:
    """The environment of ``path`` (relative, POSIX): config mapping first, then the file name,
    then the nearest directory named like an environment (``overlays/production/``)."""
    if file_environments:
        for glob, env in file_environments.items():
            if fnmatch.fnmatchcase(path, glob) or fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], glob):
                return normalize_environment(env)
    return _path_env(path, frozenset(e.lower() for e in extra))


def environment_from_variable(name: str, extra: Iterable[str] = ()) -> str | None:
    """``JWT_SECRET_STAGING`` -> ``staging``; ``None`` when the last part is no environment."""
    if "_" not in name:
        return None
    last = name.rsplit("_", 1)[-1]
    if not last or not last.isupper():
        return None
    return _token_env(last, frozenset(e.lower() for e in extra))


_TEST_DIRS = frozenset({"tests", "test", "testing", "__tests__", "spec", "specs"})
_TEST_FILE = re.compile(r"^(test_.*|.*_test|conftest|.*\.test|.*\.spec)\.(py|sh|bash|js|ts)$")


def is_test_code(path: str) -> bool:
    """Test code (``tests/...``, ``test_*.py``, ``conftest.py``): its literals are fixtures, so
    readers mark them like templates (placeholders expected)."""
    parts = path.split("/")
    if not parts[-1].endswith((".py", ".sh", ".bash", ".js", ".ts")):
        return False
    return bool(_TEST_FILE.match(parts[-1])) or any(p in _TEST_DIRS for p in parts[:-1])


def environment_from_settings(settings: Mapping[str, str], extra: Iterable[str] = ()) -> str | None:
    """The environment a service's own settings name (``ENVIRONMENT=staging``), in the order of
    :data:`ENVIRONMENT_VARIABLES`; an unknown name is kept, lower-cased."""
    for var in ENVIRONMENT_VARIABLES:
        value = settings.get(var)
        if value:
            return environment_from_name(value, extra) or (value.strip().lower() or None)
    return None
