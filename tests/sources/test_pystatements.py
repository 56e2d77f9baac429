"""The Python reader's cut-down parse (:mod:`keydrift.sources._support.pystatements`) must give,
for every statement the reader walks, the very nodes a parse of the whole file gives: it exists
only to be faster."""

from __future__ import annotations

import ast
import random
import sysconfig
import warnings
from pathlib import Path

from keydrift.sources import python as py
from keydrift.sources._support.pystatements import statement_source


def _walked(tree: ast.Module, lines: set[int]) -> list[str]:
    return [ast.dump(node, include_attributes=True) for node in py._pruned(tree.body, lines)]


def _modules() -> list[Path]:
    paths = sysconfig.get_paths()
    found = sorted(Path(paths["stdlib"]).rglob("*.py")) + sorted(
        Path(paths["purelib"]).rglob("*.py"))
    rng = random.Random(7)
    rng.shuffle(found)
    return found


def test_cut_down_parse_walks_the_same_nodes_as_a_whole_parse() -> None:
    rng = random.Random(20261127)
    compared = cut_away = unsure = 0
    for path in _modules():
        try:
            text = path.read_text("utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        count = text.count("\n") + 1
        if count < 40:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                whole = ast.parse(text)
            except (SyntaxError, ValueError):
                continue
            for share in (0.01, 0.1):
                lines = {n for n in range(1, count + 1) if rng.random() < share} or {count // 2}
                cut = statement_source(text, lines)
                if cut is None:
                    unsure += 1
                    continue
                original = text.split("\n")
                # every kept line keeps its number; the others are empty
                assert all(kept in ("", original[i]) for i, kept in enumerate(cut.split("\n")))
                # a valid module cut down is valid: the reader never falls back for it
                assert _walked(ast.parse(cut), lines) == _walked(whole, lines), (path, lines)
                compared += 1
                cut_away += len(text) - len(cut.replace("\n", ""))
        if compared >= 800:
            break
    assert compared >= 800 and cut_away > 1_000_000 and unsure < compared // 10  # the test has teeth


DOCSTRING = '''"""Example settings.

JWT_SECRET = "in-the-docstring-not-code"
"""
import os
JWT_SECRET = os.environ.get("JWT_SECRET", "the-default-in-code")
'''


def test_code_in_a_docstring_is_not_a_statement() -> None:
    cut = statement_source(DOCSTRING, {3, 6})
    assert cut is not None
    walked = _walked(ast.parse(cut), {3, 6})
    assert walked == _walked(ast.parse(DOCSTRING), {3, 6})
    assert not any("in-the-docstring-not-code" in node and "Assign(" in node.split("Constant")[0]
                   for node in walked)


def test_column_zero_lines_inside_brackets_and_continuations_belong_to_their_statement() -> None:
    text = ("CONFIG = dict(\nJWT_SECRET='a',\n)\nX = 1 + \\\n2\nif X:\n    pass\nelse:\n"
            "    JWT_SECRET = 'b'\n@decorator\n\ndef f():\n    return 'c'\n")
    for line in range(1, text.count("\n") + 1):
        cut = statement_source(text, {line})
        assert cut is not None
        assert _walked(ast.parse(cut), {line}) == _walked(ast.parse(text), {line}), line


def test_what_the_scan_does_not_understand_leaves_the_whole_file_to_the_parser() -> None:
    for text in ("X = 'unterminated\nJWT_SECRET = 'a'\n", "X = (\nJWT_SECRET = 'a'\n",
                 "X = 1)\n", "X = 1 \\ 2\n", "X = 1\r\nJWT_SECRET = 'a'\r\n", "X = 1\0\n"):
        assert statement_source(text, {1}) is None, text


def _settings(tmp_path: Path, secret_line: str) -> int:
    """A settings module large enough to be cut down, with Python 2 syntax far from its
    secret; the secret's line number."""
    body = [f"OPTION_{i} = {{'retries': {i}, 'hosts': ['a', 'b']}}" for i in range(400)]
    body[100] = 'print "a Python 2 statement"'
    body.insert(300, secret_line)
    (tmp_path / "settings.py").write_text("\n".join(body) + "\n")
    return 301


def test_a_syntax_error_away_from_the_secret_hides_nothing(tmp_path: Path) -> None:
    from keydrift import run_check

    line = _settings(tmp_path, 'JWT_SECRET = "changeme"')
    result = run_check([str(tmp_path)], jobs=1)
    assert [s for s in result.skipped if s.location.path == "settings.py"] == []
    assert any(loc.path == "settings.py" and loc.line == line
               for f in result.findings for loc in f.locations)


def test_a_syntax_error_in_the_secret_statement_skips_the_file_with_its_line(
    tmp_path: Path,
) -> None:
    from keydrift import run_check

    line = _settings(tmp_path, 'JWT_SECRET = "changeme" +')
    result = run_check([str(tmp_path)], jobs=1)
    [skipped] = [s for s in result.skipped if s.location.path == "settings.py"]
    # the whole file decides, as without the cut: its first error is on line 101
    assert skipped.reason == "not valid Python (syntax error)" and skipped.location.line == 101
    assert not any(loc.path == "settings.py" for f in result.findings for loc in f.locations)
    assert line == 301


def test_docstrings_and_strings_next_to_quotes_are_understood() -> None:
    text = ('"""Settings.\n\nJWT_SECRET = "doc"\n"""\nA = ""\nB = \'\'\nC = """x"y"""\n'
            "D = f'{A!r}' 'z'\nJWT_SECRET = 'real'\n")
    cut = statement_source(text, {9})
    assert cut is not None
    assert _walked(ast.parse(cut), {9}) == _walked(ast.parse(text), {9})
