"""The fast ``.env`` parser against python-dotenv's own, line for line.

``dotenv_bindings`` takes plain ``KEY=value`` lines itself and hands every other line to
python-dotenv. This differential test is the reason that hand-written path may exist: over more
than 100,000 generated lines, plain and tricky, it must give exactly python-dotenv's bindings
(key, value, and the key's line).
"""

from __future__ import annotations

import io
import random
import re

import pytest
from dotenv.parser import parse_stream

from keydrift.sources._support.composeenv import ComposeEnvError
from keydrift.sources._support.envlines import _PLAIN, dotenv_bindings, shared_lines

_NEWLINE = re.compile(r"\r\n|\n|\r")
_LEADING = re.compile(r"\s*")

KEYS = [
    "KEY", "JWT_SECRET", "a", "_x1", "export", "exportFOO", "K.DOTTED", "k-dash", "Ключ", "KEY[0]",
    "'quoted key'", "'", "1DIGIT", "A B", "K\u00a0", "K\u2028",
]
PLAIN_VALUES = [
    "", "value", "a b c", "http://x.example/a?b=c&d=e", "${OTHER}", "$OTHER-x", "a$$b",
    "~!%&()*+,-./:;<=>?@[]^_`{|}", "0123456789abcdef" * 4, "x=y=z", "a  b",
]
TRICKY_VALUES = [
    " leading", "trailing ", "tab\tinside", "a #comment", "a\t#tab comment", "a#nocomment", "#x",
    " # only comment", "'single'", "'sin\\'gle'", '"double"', '"d\\"q"', '"esc \\n \\t \\\\ \\$ \\0101"',
    "'unterminated", '"unterminated', '"multi\nline"', "'multi\r\nline'", '"a" trailing', "'a'#c",
    "back\\slash", "é ünïcode", "\x0bvt", "ff\x0c", "nel\x85", "sep\u2028x", "nbsp\u00a0",
    '"${A:-x}"', "'${A}'", "\"'mixed'\"", "a'b", 'a"b', "\\", '"', "'", "''", '""',
]
SEPARATORS = ["=", "=", "=", " = ", "= ", " =", "=\t", ":", ""]
PREFIXES = ["", "", "", "export ", "export\t", "  ", "\t", " export  "]
ENDINGS = ["\n", "\n", "\n", "\r\n", "\r", ""]
EXTRA_LINES = ["", "   ", "# a comment", "  # indented comment", "\t", "#", "\x0c", "garbage line"]


def _line(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.12:
        return rng.choice(EXTRA_LINES) + rng.choice(ENDINGS)
    key = rng.choice(KEYS) if rng.random() < 0.5 else rng.choice(KEYS[:4])
    if roll < 0.55:
        value = rng.choice(PLAIN_VALUES)
        sep, prefix = "=", ""
    else:
        value = rng.choice(TRICKY_VALUES + PLAIN_VALUES)
        sep, prefix = rng.choice(SEPARATORS), rng.choice(PREFIXES)
    return prefix + key + sep + value + rng.choice(ENDINGS)


def _python_dotenv(text: str) -> list[tuple[str, str | None, int]]:
    out = []
    for b in parse_stream(io.StringIO(text)):
        if b.key is None or b.error:
            continue
        # python-dotenv reports the first of the blank lines before a binding; we report the key's
        lead = _LEADING.match(b.original.string)
        assert lead is not None
        out.append((b.key, b.value, b.original.line + len(_NEWLINE.findall(lead.group(0)))))
    return out


def _ours(text: str) -> list[tuple[str, str | None, int]]:
    return [(b.key, b.value, b.line) for b in dotenv_bindings(text)]


def test_differential_against_python_dotenv_over_100k_lines() -> None:
    rng = random.Random(20260801)
    lines = 0
    files = 0
    fast = 0
    while lines < 120_000:
        count = rng.randint(1, 40)
        text = "".join(_line(rng) for _ in range(count))
        if rng.random() < 0.02:
            text = "\ufeff" + text
        lines += count
        files += 1
        expected = _python_dotenv(text)
        got = _ours(text)
        assert got == expected, f"file {files} differs: {text!r}"
        fast += sum(1 for b in dotenv_bindings(text) if _PLAIN.fullmatch(b.original))
    assert lines >= 100_000
    assert fast > 10_000  # the fast path was really exercised, not only the arbiter


@pytest.mark.parametrize(
    "text",
    [
        "A=1\n\n\n# c\nB=2\n",
        "A=1\r\nB=2\rC=3",
        'A="x\ny"\nB=2\n',
        "A='unterminated\nB=2\n",
        "\ufeff\ufeffA=1\n",
        "A=1 # c\nB=\nC= \nD=x\t\n",
        "export A=1\nexport=2\n",
        "A=${B}\nB=$C\n",
    ],
)
def test_known_shapes(text: str) -> None:
    assert _ours(text) == _python_dotenv(text)


def test_line_is_the_key_line() -> None:
    bindings = dotenv_bindings("A=1\n\n# c\n\nB=2\n")
    assert [(b.key, b.line) for b in bindings] == [("A", 1), ("B", 5)]


def test_plain_lines_never_reach_python_dotenv() -> None:
    # A value python-dotenv would read differently if it were quoted must still be exact.
    assert _ours("K=a'b\nL=x y z\nM=${N}\n") == [("K", "a'b", 1), ("L", "x y z", 2), ("M", "${N}", 3)]


SHARED_VALUES = [
    *PLAIN_VALUES, '"a b"', "'a b'", '""', "''", '"${X} $Y"', "'${X}'", '"é #x"', "'\x0b\x85'",
    "a # c", "a  #c", "a\t#c", " #c", "#c", '"q" # c', "'q'  #c", '"q"#c', '"q" ', "a #",
    '"a\\"', '"a\'b"', "'a\"b'", '"unterminated', "'a' b",
]


def test_plain_files_read_alike_by_the_shared_path_python_dotenv_and_compose() -> None:
    """:func:`shared_lines` gives both parsers' answers at once for files of simple lines: over
    generated files it must match python-dotenv (through ``dotenv_bindings``, itself held to
    python-dotenv above) and the Compose parser, or decline."""
    from keydrift.sources._support.composeenv import parse_compose_env
    from keydrift.sources.dotenv import DotenvFile

    rng = random.Random(20261128)
    accepted = declined = 0
    comments = ["#", "# c", "#KEY=value", "# a 'quoted' \"note\" = $x", "#\t\x0b\x85\u2028 odd"]
    for _ in range(10_000):
        parts = []
        for _ in range(rng.randint(0, 12)):
            roll = rng.random()
            if roll < 0.15:
                parts.append(rng.choice(comments))
            elif roll < 0.25:
                parts.append("")
            elif roll < 0.97:
                parts.append(rng.choice(KEYS[:4]) + "=" + rng.choice(SHARED_VALUES))
            else:
                parts.append(rng.choice(PREFIXES) + rng.choice(KEYS) + rng.choice(SEPARATORS)
                             + rng.choice(TRICKY_VALUES))
        text = rng.choice(["\n", "\n", "\r\n"]).join(parts) + rng.choice(["", "\n", "\n\n"])
        fast = DotenvFile.parse(text)
        try:
            compose = parse_compose_env(text)
        except ComposeEnvError:
            compose = None
        assert fast.bindings == dotenv_bindings(text), repr(text)
        assert fast.compose == compose, repr(text)
        if shared_lines(text) is None:
            declined += 1
        else:
            accepted += 1
            assert fast.compose_error is None
    assert accepted > 2_500 and declined > 2_500  # both paths were exercised
