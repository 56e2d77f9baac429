"""How Docker Compose reads ``.env`` and ``env_file`` text: a conformance table.

Each row is an env-file text, the lookup Compose has (the project environment), and what Compose
delivers, written from compose-go's ``dotenv`` and ``template`` behaviour (rows checked against
compose-go itself; see ``bench/fuzz_compose_dotenv.py``). Where python-dotenv reads the line
differently, the row says so too: ``DotenvEntry.dotenv`` keeps python-dotenv's view for Python
apps, ``DotenvEntry.compose`` carries Compose's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keydrift.sources._support.composeenv import (
    ComposeEnvError,
    parse_compose_env,
    resolve_compose_env,
)
from keydrift.sources.dotenv import DotenvFile, parse_dotenv

from .util import model_of, services, text, write_tree

SAME = object()  # python-dotenv agrees with Compose

# (row, env-file text, project environment, key, Compose's value (None: not set),
#  python-dotenv's value or SAME)
ROWS: list[tuple[str, str, dict[str, str], str, str | None, object]] = [
    ("plain", "K=abc\n", {}, "K", "abc", SAME),
    ("space before # is a comment", "K=abc #c\n", {}, "K", "abc", SAME),
    ("tab before # is not a comment", "K=abc\t#c\n", {}, "K", "abc\t#c", "abc"),
    ("# without space is kept", "K=abc#c\n", {}, "K", "abc#c", SAME),
    ("trailing spaces trimmed", "K=abc   \n", {}, "K", "abc", SAME),
    ("single quotes are literal, $ and ${} too", "K='a$b${C}'\n", {"C": "x"}, "K", "a$b${C}",
     "a$b"),  # python-dotenv interpolates ${C} from earlier lines only (none here)
    ("single quotes keep backslashes", "K='a\\nb'\n", {}, "K", "a\\nb", SAME),
    ("escaped single quote", "K='a\\'b'\n", {}, "K", "a'b", SAME),
    ("\\$ in double quotes is a literal dollar (issue 9)", 'JWT_SECRET="s3cr\\$et-0123456789abcdefghijkl"\n',
     {}, "JWT_SECRET", "s3cr$et-0123456789abcdefghijkl", "s3cr\\$et-0123456789abcdefghijkl"),
    ("\\$ then a name stays literal", 'K="a\\$HOME"\n', {"HOME": "/root"}, "K", "a$HOME", "a\\$HOME"),
    ("\\n in double quotes", 'K="a\\nb"\n', {}, "K", "a\nb", SAME),
    ("\\t in double quotes", 'K="a\\tb"\n', {}, "K", "a\tb", SAME),
    ("\\\\ in double quotes", 'K="a\\\\b"\n', {}, "K", "a\\b", SAME),
    ('\\" in double quotes', 'K="a\\"b"\n', {}, "K", 'a"b', SAME),
    ("octal escape", 'K="\\0101"\n', {}, "K", "A", "\\0101"),
    ("unknown escape kept", 'K="a\\xb"\n', {}, "K", "a\\xb", SAME),
    ("text after the closing quote ignored", 'K="abc" # c\n', {}, "K", "abc", SAME),
    ("multi-line double quotes", 'K="a\nb"\n', {}, "K", "a\nb", SAME),
    ("multi-line single quotes", "K='a\nb'\n", {}, "K", "a\nb", SAME),
    ("KEY: value (YAML style)", "K: abc\n", {}, "K", "abc", None),
    ("export prefix", "export K=abc\n", {}, "K", "abc", SAME),
    ("spaces around =", "K = abc\n", {}, "K", "abc", SAME),
    ("empty value", "K=\n", {}, "K", "", SAME),
    ("empty double quotes", 'K=""\n', {}, "K", "", SAME),
    ("KEY alone takes the lookup", "K\n", {"K": "fromenv"}, "K", "fromenv", None),
    ("KEY alone, not in the lookup: unset", "K\n", {}, "K", None, None),
    ("bare $NAME is interpolated", "K=$A-x\n", {"A": "1"}, "K", "1-x", "$A-x"),
    ("${NAME}", "K=${A}x\n", {"A": "1"}, "K", "1x", "x"),
    ("${NAME} in double quotes", 'K="${A}x"\n', {"A": "1"}, "K", "1x", "x"),
    ("${A:-d}, A unset", "K=${A:-d}\n", {}, "K", "d", SAME),
    ("${A:-d}, A empty", "K=${A:-d}\n", {"A": ""}, "K", "d", "d"),
    ("${A-d}, A empty", "K=${A-d}\n", {"A": ""}, "K", "", ""),
    ("${A-d}, A unset", "K=${A-d}\n", {}, "K", "d", ""),
    ("${A:+alt}, A set", "K=${A:+alt}\n", {"A": "1"}, "K", "alt", "${A:+alt}"),
    ("$$ escapes a dollar", "K=a$$b\n", {}, "K", "a$b", "a$$b"),
    ("unset ${NAME} is empty", "K=${NOPE}x\n", {}, "K", "x", SAME),
    ("earlier line", "A=1\nK=${A}2\n", {}, "K", "12", SAME),
    ("the lookup beats an earlier line", "A=1\nK=${A}2\n", {"A": "9"}, "K", "92", "12"),
    ("CRLF", "K=abc\r\n", {}, "K", "abc", SAME),
    ("BOM", "\ufeffK=abc\n", {}, "K", "abc", SAME),
    ("# inside double quotes", 'K="a #b"\n', {}, "K", "a #b", SAME),
    ("quote inside an unquoted value", "K=a'b\n", {}, "K", "a'b", SAME),
    ("nothing after = then a comment", "K= # c\n", {}, "K", "# c", ""),
]


def _compose(text: str, env: dict[str, str], key: str) -> str | None:
    values = resolve_compose_env(parse_compose_env(text), env.get)
    found = None
    for v in values:
        if v.binding.key == key:
            found = v.value
    return found


@pytest.mark.parametrize(("row", "source", "env", "key", "compose", "dotenv"), ROWS,
                         ids=[r[0] for r in ROWS])
def test_conformance_row(row: str, source: str, env: dict[str, str], key: str,
                         compose: str | None, dotenv: object) -> None:
    assert _compose(source, env, key) == compose
    # DotenvEntry carries both views; python-dotenv's is resolved from earlier lines only
    by_key = {e.key: e for e in DotenvFile.parse(source).for_compose(env.get, env_file=True)}
    entry = by_key.get(key)
    assert (entry.compose if entry else None) == compose
    expected_dotenv = compose if dotenv is SAME else dotenv
    assert (entry.dotenv if entry else None) == expected_dotenv


def test_jwt_secret_with_escaped_dollar_is_30_bytes() -> None:
    # issue 9: keydrift read this as 28 bytes, Compose delivers 30
    (entry,) = parse_dotenv('JWT_SECRET="s3cr\\$et-0123456789abcdefghijkl"\n')
    assert entry.compose is not None and len(entry.compose.encode()) == 30
    assert entry.dotenv is not None and len(entry.dotenv.encode()) == 31


REFUSED = [
    ("${ foo}", "K=${ foo}\n", "variable name"),
    ("${foo unterminated", "K=${foo\n", "unterminated"),
    ("unterminated double quote", 'A=1\nK="abc\n', "unterminated quoted value"),
    ("unterminated single quote", "K='abc\n", "unterminated quoted value"),
    ("space in a key", "MY KEY=1\n", "contains a space"),
    ("bad character in a key", "K$=1\n", "unexpected character"),
    ("${A:x}", "K=${A:x}\n", "invalid interpolation"),
]


@pytest.mark.parametrize(("row", "source", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_templates_compose_refuses_are_typed_errors(row: str, source: str, reason: str) -> None:
    with pytest.raises(ComposeEnvError) as info:
        resolve_compose_env(parse_compose_env(source))
    assert reason in info.value.reason
    assert "abc" not in info.value.reason  # never a value in a reason
    parsed = DotenvFile.parse(source)
    with pytest.raises(ComposeEnvError):
        parsed.for_compose()
    # python-dotenv's view of the rest of the file is still there; Compose's is not
    assert all(e.compose is None for e in parsed.entries())


def test_refused_line_number() -> None:
    with pytest.raises(ComposeEnvError) as info:
        resolve_compose_env(parse_compose_env("A=1\n\nB=${ x}\n"))
    assert info.value.line == 3


def test_required_missing_is_not_a_value() -> None:
    (value,) = resolve_compose_env(parse_compose_env("K=${NEEDED:?set it}\n"))
    assert value.value is None and value.required_missing == ("NEEDED",)


def test_env_file_lookup_order_in_a_compose_project(tmp_path: Path) -> None:
    # ${X} in an env_file: the project .env first, then the service's `environment:`, then
    # earlier lines of the file
    write_tree(tmp_path, {
        ".env": "FROM_PROJECT=project-0123456789abcdefghijklmnop\n",
        "app.env": (
            "FROM_PROJECT=file-line\nFROM_SERVICE=file-line\nEARLIER=earlier-0123456789abcdefghijk\n"
            "A_SECRET=${FROM_PROJECT}\nB_SECRET=${FROM_SERVICE}\nC_SECRET=${EARLIER}\n"
        ),
        "docker-compose.yml": (
            "services:\n  api:\n    image: x\n    env_file: app.env\n    environment:\n"
            "      FROM_SERVICE: service-0123456789abcdefghijklmnop\n"
        ),
    })
    (api,) = services(model_of(tmp_path), "api")
    assert text(api.env["A_SECRET"]) == "project-0123456789abcdefghijklmnop"
    assert text(api.env["B_SECRET"]) == "service-0123456789abcdefghijklmnop"
    assert text(api.env["C_SECRET"]) == "earlier-0123456789abcdefghijk"


def test_env_file_compose_refuses_is_reported_not_compared(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "app.env": "JWT_SECRET=${ JWT}\n",
        "docker-compose.yml": "services:\n  api:\n    image: x\n    env_file: app.env\n",
    })
    model = model_of(tmp_path)
    (api,) = services(model, "api")
    assert "JWT_SECRET" not in api.env
    reasons = {s.location.path: s.reason for s in model.skipped}
    assert "interpolation" in reasons["app.env"]
