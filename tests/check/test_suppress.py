"""Inline ``# keydrift: ignore[...]`` comments in every file kind, on the line or the line above;
suppressed findings are kept and listed, stale comments become KD901 notes."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import jsonschema

from keydrift import run_check
from keydrift.check.suppress import find_directives
from keydrift.cli.main import main
from keydrift.model.types import Location

from .deploykit import tree

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "schema" / "check-output-v1.json").read_text())


def _s() -> str:
    return secrets.token_urlsafe(40)


def _files(comments: bool) -> dict[str, str]:
    def c(text: str) -> str:
        return text if comments else ""
    return {
        ".env": c("# keydrift: ignore[KD402]\n") + f"JWT_SECRET={_s()}\n",
        "docker-compose.yml": (
            "services:\n  api:\n    image: acme/api\n    environment:\n"
            f"      JWT_SECRET: {_s()}" + c("  # keydrift: ignore[KD401]") + "\n"
        ),
        "settings.py": "import os\n" + f'JWT_SECRET = "{_s()}"' + c("  # keydrift: ignore") + "\n",
        "deploy.sh": "#!/bin/sh\n" + c("# keydrift: ignore[KD401]\n")
        + f"export JWT_SECRET={_s()}\nexec app\n",
        "Dockerfile": "FROM python:3.12\n" + c("# Keydrift: IGNORE[kd401]\n") + f"ENV JWT_SECRET={_s()}\n",
    }


def _where(result_findings: list[object]) -> set[tuple[str, str]]:
    return {(f.rule, f.locations[0].path) for f in result_findings}  # type: ignore[attr-defined]


def test_without_comments_every_file_kind_has_a_finding(tmp_path: Path) -> None:
    root = tree(tmp_path / "r", _files(comments=False))
    result = run_check([str(root)])
    assert _where(result.findings) == {
        ("KD402", ".env"), ("KD401", "docker-compose.yml"), ("KD401", "settings.py"),
        ("KD401", "deploy.sh"), ("KD401", "Dockerfile"),
    }
    assert result.suppressed == []


def test_comments_on_the_line_or_above_silence_and_are_listed(tmp_path: Path) -> None:
    root = tree(tmp_path / "r", _files(comments=True))
    result = run_check([str(root)])
    assert result.findings == []
    assert _where([s.finding for s in result.suppressed]) == {
        ("KD402", ".env"), ("KD401", "docker-compose.yml"), ("KD401", "settings.py"),
        ("KD401", "deploy.sh"), ("KD401", "Dockerfile"),
    }
    comments = {s.finding.locations[0].path: s.comment for s in result.suppressed}
    assert comments[".env"] == Location(".env", 1)
    assert comments["docker-compose.yml"] == Location("docker-compose.yml", 5)
    assert comments["deploy.sh"] == Location("deploy.sh", 2)
    assert "5 suppressed inline" in result.summary_line()


def test_no_inline_ignore_shows_them_all(tmp_path: Path) -> None:
    root = tree(tmp_path / "r", _files(comments=True))
    result = run_check([str(root)], inline_ignore=False)
    assert len(result.findings) == 5
    assert result.suppressed == []


def test_json_lists_suppressed_and_validates(tmp_path: Path,
                                            capsys: object) -> None:
    root = tree(tmp_path / "r", _files(comments=True))
    assert main(["check", str(root), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["summary"]["suppressed"] == 5
    assert {(s["rule"], s["suppressed_by"]["path"]) for s in doc["suppressed"]} == {
        ("KD402", ".env"), ("KD401", "docker-compose.yml"), ("KD401", "settings.py"),
        ("KD401", "deploy.sh"), ("KD401", "Dockerfile"),
    }
    assert main(["check", str(root), "--format", "json", "--no-inline-ignore"]) == 1
    audit = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert audit["suppressed"] == [] and audit["summary"]["findings"] == 5


def test_a_comment_naming_another_rule_silences_nothing_and_is_reported(tmp_path: Path) -> None:
    files = _files(comments=False)
    files["settings.py"] = f'import os\nJWT_SECRET = "{_s()}"  # keydrift: ignore[KD302]\n'
    files["notes.py"] = "# keydrift: ignore\nx = 1\n"
    root = tree(tmp_path / "r", files)
    result = run_check([str(root)])
    assert ("KD401", "settings.py") in _where(result.findings)
    stale = sorted((f.locations[0].path, f.severity.value, f.message) for f in result.findings
                   if f.rule == "KD901")
    # notes.py is not a file keydrift reads, so its comment is not looked at.
    assert [(p, s) for p, s, _ in stale] == [("settings.py", "note")]
    assert "silences no KD302 finding" in stale[0][2]
    assert any(r.id == "KD901" for r in result.rules)


def test_partly_used_comment_names_the_idle_rule(tmp_path: Path) -> None:
    files = _files(comments=False)
    files["deploy.sh"] = f"#!/bin/sh\n# keydrift: ignore[KD401, KD302]\nexport JWT_SECRET={_s()}\n"
    root = tree(tmp_path / "r", files)
    result = run_check([str(root)])
    [note] = [f for f in result.findings if f.rule == "KD901"]
    assert "no KD302 finding" in note.message and "does silence KD401" in note.message
    assert [s.finding.rule for s in result.suppressed] == ["KD401"]


def test_a_comment_two_lines_above_does_not_count(tmp_path: Path) -> None:
    files = _files(comments=False)
    files["deploy.sh"] = f"#!/bin/sh\n# keydrift: ignore[KD401]\n\nexport JWT_SECRET={_s()}\n"
    root = tree(tmp_path / "r", files)
    result = run_check([str(root)])
    assert ("KD401", "deploy.sh") in _where(result.findings)
    assert ("KD901", "deploy.sh") in _where(result.findings)


def test_hash_inside_a_value_is_not_a_comment(tmp_path: Path) -> None:
    files = _files(comments=False)
    files["deploy.sh"] = f"#!/bin/sh\nexport JWT_SECRET={_s()}#keydrift:ignore\n"
    root = tree(tmp_path / "r", files)
    assert ("KD401", "deploy.sh") in _where(run_check([str(root)]).findings)


def test_directives_are_read_inside_the_root_only(tmp_path: Path) -> None:
    outside = tmp_path / "outside.sh"
    outside.write_text("# keydrift: ignore\n")
    root = tmp_path / "r"
    (root / "sub").mkdir(parents=True)
    (root / "inside.sh").write_text("# keydrift: ignore[KD401]\n")
    os.symlink(outside, root / "link.sh")
    os.symlink(tmp_path, root / "sub" / "up")
    os.mkfifo(root / "fifo.sh")
    got = find_directives(str(root), ["inside.sh", "link.sh", "sub/up/outside.sh",
                                      "../outside.sh", "fifo.sh", "-"])
    assert [(d.location, sorted(d.rules)) for d in got] == [(Location("inside.sh", 1), ["KD401"])]


def test_environment_narrowed_check_reports_no_stale_comments(tmp_path: Path) -> None:
    files = {"docker-compose.yml": "services:\n  api:\n    image: acme/api\n"
             "    environment:\n      ENVIRONMENT: staging\n"
             f"      JWT_SECRET: {_s()}  # keydrift: ignore[KD401]\n",
             # a script keydrift checks (comments are read only in checked files)
             "deploy.sh": "# keydrift: ignore[KD101]\nexport JWT_ISSUER=acme\n"}
    root = tree(tmp_path / "r", files)
    whole = run_check([str(root)])
    assert any(f.rule == "KD901" for f in whole.findings)
    narrowed = run_check([str(root)], environments=["staging"])
    assert not any(f.rule == "KD901" for f in narrowed.findings)


def test_sarif_marks_suppressed_results_in_source_and_stays_valid(tmp_path: Path,
                                                                  capsys: object) -> None:
    sarif_schema = json.loads(
        (ROOT / "tests" / "assets" / "sarif" / "sarif-schema-2.1.0.json").read_text())
    root = tree(tmp_path / "r", _files(comments=True))
    assert main(["check", str(root), "--format", "sarif"]) == 0
    doc = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    jsonschema.Draft4Validator(sarif_schema).validate(doc)
    results = doc["runs"][0]["results"]
    assert len(results) == 5
    for r in results:
        [s] = r["suppressions"]
        assert s["kind"] == "inSource"
        assert s["location"]["physicalLocation"]["region"]["startLine"] >= 1


def test_python_strings_that_look_like_comments_are_not_directives(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        'TEXT = "x  # keydrift: ignore[KD401]"\n'
        '"""\n# keydrift: ignore\n"""\n'
        "x = 1  # keydrift: ignore[KD302]\n")
    (tmp_path / "b.sh").write_text('echo "x  # keydrift: ignore[KD401]"\n')
    got = find_directives(str(tmp_path), ["a.py", "b.sh"])
    # Python: the tokenizer's comments only; shell has no tokenizer here, so the `#` rule decides.
    assert [(str(d.location), sorted(d.rules)) for d in got] == [
        ("a.py:5", ["KD302"]), ("b.sh:1", ["KD401"])]


def test_only_files_that_mention_keydrift_are_read_again_for_comments(tmp_path: Path) -> None:
    """While reading, the check notes which files never mention ``keydrift`` (in any case):
    only the others are read again for suppression comments."""
    from keydrift.check import build_model

    files = _files(comments=True)
    files["plain.sh"] = f"#!/bin/sh\nexport JWT_SECRET={_s()}\n"
    files["mixed.sh"] = f"#!/bin/sh\nexport JWT_SECRET={_s()}  # KEYDRIFT: ignore[KD401]\n"
    root = tree(tmp_path / "r", files)
    model = build_model([str(root)], jobs=1)
    assert model.unmarked == {"plain.sh"}
    result = run_check([str(root)])
    assert ("KD401", "mixed.sh") not in _where(result.findings)
    assert ("KD401", "plain.sh") in _where(result.findings)
