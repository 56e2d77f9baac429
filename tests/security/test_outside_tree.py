"""Item 4: ``check`` reads nothing outside the checked roots, and fingerprints no weak value.

A compose ``secrets: x: {file: /abs/path}``, a secret file reached through a symlinked
directory, a kustomize ``files:`` entry behind a symlink and an ``env_file`` with ``..`` were
all read, and the report printed a fingerprint of their content: a 6-digit PIN came back from it
offline in two seconds. Now each is skipped with the reason, and values a fingerprint would give
away are shown as ``weak``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from keydrift.keys import oct_thumbprint, short

from .util import cli, write_tree

PIN = "493817"  # a 6-digit PIN: 20 bits, recovered from an unsalted SHA-256 at once
OUTSIDE_SECRET = "Qm7vT2xR9pL4wS8yB1cF5hJ0gU3eV6aK9nM2qT5rZ8w"  # strong, so a leak would show


def _fps(value: str) -> str:
    return short(oct_thumbprint(value.encode()))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the checked tree holding secrets the check must never read."""
    root = write_tree(tmp_path / "outside", {
        "pin": PIN + "\n",
        "jwt": OUTSIDE_SECRET + "\n",
        "secrets/jwt.txt": OUTSIDE_SECRET + "\n",
        "outside.env": f"JWT_SECRET={OUTSIDE_SECRET}\n",
    })
    return root


def _check_all(capsys: pytest.CaptureFixture[str], tree: Path) -> tuple[str, dict[str, object]]:
    texts = []
    doc: dict[str, object] = {}
    for fmt in ("text", "json", "sarif"):
        code, out, err = cli(capsys, "check", str(tree), "--format", fmt, "--fail-on", "never")
        assert code == 0, err
        texts.append(out + err)
        if fmt == "json":
            doc = json.loads(out)
    return "\n".join(texts), doc


def _skipped(doc: dict[str, object]) -> list[str]:
    return [f"{s['path']}: {s['reason']}" for s in doc["skipped"]]  # type: ignore[attr-defined,index]


def _assert_not_read(report: str, doc: dict[str, object]) -> None:
    for value in (PIN, OUTSIDE_SECRET):
        assert _fps(value) not in report
        assert oct_thumbprint(value.encode()) not in report
    assert any("outside the checked tree" in s for s in _skipped(doc)), _skipped(doc)


def test_security_compose_secret_file_with_absolute_path_is_not_read(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = write_tree(tmp_path / "repo", {"docker-compose.yml": f"""
services:
  api:
    image: api
    environment:
      JWT_SECRET_FILE: /run/secrets/jwt
    secrets: [jwt, pin]
secrets:
  jwt:
    file: {outside / 'jwt'}
  pin:
    file: {outside / 'pin'}
"""})
    report, doc = _check_all(capsys, tree)
    _assert_not_read(report, doc)


def test_security_secret_file_through_symlinked_directory_is_not_read(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = write_tree(tmp_path / "repo", {"docker-compose.yml": """
services:
  api:
    image: api
    environment:
      JWT_SECRET_FILE: /run/secrets/jwt
    secrets: [jwt]
secrets:
  jwt:
    file: ./secrets/jwt.txt
"""})
    (tree / "secrets").symlink_to(outside / "secrets", target_is_directory=True)
    report, doc = _check_all(capsys, tree)
    _assert_not_read(report, doc)


def test_security_kustomize_files_behind_symlinks_are_not_read(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = write_tree(tmp_path / "repo", {"overlays/production/kustomization.yaml": """
secretGenerator:
  - name: api-jwt
    files:
      - JWT_SECRET=keys/jwt
      - PIN=pin-link
    envs:
      - env-link
"""})
    prod = tree / "overlays" / "production"
    (prod / "keys").symlink_to(outside, target_is_directory=True)
    (prod / "pin-link").symlink_to(outside / "pin")
    (prod / "env-link").symlink_to(outside / "outside.env")
    report, doc = _check_all(capsys, tree)
    _assert_not_read(report, doc)


def test_security_env_file_leaving_the_tree_is_not_read(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = write_tree(tmp_path / "repo", {"deploy/docker-compose.yml": """
services:
  api:
    image: api
    env_file: ../../outside/outside.env
"""})
    report, doc = _check_all(capsys, tree)
    _assert_not_read(report, doc)


def test_security_named_subdirectory_is_the_boundary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `keydrift check repo/deploy` reads nothing of repo/ outside deploy/.
    tree = write_tree(tmp_path / "repo", {
        "secret.txt": OUTSIDE_SECRET,
        "deploy/docker-compose.yml": """
services:
  api:
    image: api
    environment:
      JWT_SECRET_FILE: /run/secrets/jwt
    secrets: [jwt]
secrets:
  jwt:
    file: ./jwt.txt
""",
    })
    (tree / "deploy" / "jwt.txt").symlink_to(tree / "secret.txt")
    report, doc = _check_all(capsys, tree / "deploy")
    _assert_not_read(report, doc)


def test_security_no_fingerprint_for_low_entropy_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = write_tree(tmp_path / "repo", {
        "production.env": f"JWT_SECRET={PIN}\n",
        "staging.env": "JWT_SECRET=hunter22\n",
        "docker-compose.yml": f"""
services:
  api:
    image: api
    environment:
      JWT_SECRET: "{PIN}"
  worker:
    image: worker
    environment:
      JWT_SECRET: "000000"
""",
    })
    report, doc = _check_all(capsys, tree)
    for value in (PIN, "hunter22", "000000"):
        assert _fps(value) not in report, value
    findings = doc["findings"]
    assert isinstance(findings, list) and findings
    labels = {fp for f in findings for fp in f["fingerprints"]}
    assert labels and all(label.startswith("weak") for label in labels), labels
    # Two different weak values in one finding stay distinguishable without a fingerprint.
    disagree = [f for f in findings if f["rule"] == "KD201"]
    assert disagree and sorted(disagree[0]["fingerprints"]) == ["weak-1", "weak-2"]


def test_strong_values_keep_their_fingerprint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The withholding is for guessable values only: a real secret is still shown by fingerprint.
    tree = write_tree(tmp_path / "repo", {
        "production.env": f"JWT_SECRET={OUTSIDE_SECRET}\n",
        "staging.env": f"JWT_SECRET={OUTSIDE_SECRET}\n",
    })
    report, _doc = _check_all(capsys, tree)
    assert _fps(OUTSIDE_SECRET) in report  # KD303: reused across environments


def test_security_repr_of_weak_value_shows_no_fingerprint() -> None:
    from keydrift.resolve import resolve
    from keydrift.secret import SecretValue

    assert _fps(PIN) not in repr(SecretValue(PIN)) and "weak" in repr(SecretValue(PIN))
    got = resolve(environment="development", env={"JWT_SECRET": PIN})
    assert _fps(PIN) not in repr(got)
    assert os.fspath(_fps(OUTSIDE_SECRET)) in repr(SecretValue(OUTSIDE_SECRET))
