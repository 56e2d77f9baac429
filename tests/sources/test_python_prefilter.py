"""The Python reader's line prefilter: the shortened name alternation must pick exactly the
lines the full alternation picks (it exists only to be faster)."""

from __future__ import annotations

import random
import re

from keydrift.check.build import preset_specs
from keydrift.model.names import NameClassifier
from keydrift.sources import python as py
from keydrift.spec import SecretSpec


def _reference(names: str) -> re.Pattern[bytes]:
    """The prefilter written plainly: every name alternative, the branches not factored."""
    n = names.lower().encode()
    return re.compile(
        rb"(?:" + n + rb")[\w\]'\"]*\s*(?::\s*\w+\s*)?=\s*\(?\s*(?:[rbuf]{0,2}['\"]|$)"
        + rb"|(?:" + n + rb")[\w\]'\"]*\s*(?::\s*\w+\s*)?:\s*\(?\s*[rbuf]{0,2}['\"]"
        + rb"|(?:" + n + rb")\w*['\"]\s*:\s*\(?\s*$"
        + rb"|(?:" + n + rb")[^\n]*(?:urandom|token_(?:hex|urlsafe|bytes)|uuid[14]|generate_key|"
        rb"get_random_\w+|default_factory)"
        + rb"|['\"][\w.-]*(?:" + n + rb")[\w.-]*['\"]\s*[,\]]"
        + rb"|['\"]\w*(?:" + n + rb")\w*="
        + rb"|" + py._FLAGS
    )


def _lines(names: NameClassifier, rng: random.Random, count: int) -> list[bytes]:
    pieces = [p.replace("\\", "") for p in names.name_pattern.split("|")]
    fragments = [
        *pieces, *(p.lower() for p in pieces), "key", "keys", "monkey", "tokens", "TokenService",
        "x", "os.environ", "getenv", "os.urandom(32)", "secrets.token_hex(16)", "uuid4()",
        "default_factory", "get_random_secret_key()", "str", "Field", "class", "if", "self.",
        "=", "==", ":", " : ", "(", ")", "[", "]", ",", "'", '"', 'r"', "b'", "f'", "-", ".",
        " ", "  ", "\t", "_", "--set-env-vars", "-e", "--env", "'-e'", " -e X=", "#", "\\",
    ]
    return [
        "".join(rng.choice(fragments) for _ in range(rng.randint(1, 9))).lower().encode()
        for _ in range(count)
    ]


def test_shortened_alternation_picks_the_same_lines_as_the_full_one() -> None:
    rng = random.Random(20261127)
    custom = SecretSpec(name="custom", variables=("ACME_{ENV}_SIGNER", "ACME_SIGNER_KEY"))
    for specs in (preset_specs(), [*preset_specs(), custom], []):
        names = NameClassifier(specs)
        fast = py._prefilter(names.name_pattern).pattern
        slow = _reference(names.name_pattern)
        lines = _lines(names, rng, 40_000)
        assert sum(1 for line in lines if slow.search(line)) > 2_000  # the test has teeth
        differ = [line for line in lines if bool(fast.search(line)) != bool(slow.search(line))]
        assert differ == []


def test_candidate_line_numbers_count_every_newline_before_them() -> None:
    names = NameClassifier(preset_specs())
    body = b"".join(
        b'JWT_SECRET = "x%d"\n' % i if i % 7 == 0 else b"print(%d)\n" % i for i in range(500)
    )
    assert py.candidate_lines(body, names) == {i + 1 for i in range(500) if i % 7 == 0}


def test_block_headers_are_not_candidates_but_split_dict_entries_are() -> None:
    names = NameClassifier(preset_specs())
    body = (b"class TokenService:\n    pass\n"            # 1-2
            b"if token:\n    pass\n"                       # 3-4
            b"for token in tokens:\n    pass\n"            # 5-6
            b"CONFIG = {\n    'JWT_SECRET':\n        'x',\n}\n"  # 7-10: line 8
            b"JWT_SECRET: str = (\n    'y'\n)\n"          # 11-13: line 11
            b"API_TOKEN: 'z'\n")                            # 14
    assert py.candidate_lines(body, names) == {8, 11, 14}


def test_fast_walk_records_what_the_standard_node_visitor_records() -> None:
    """The reader's visitor replaces NodeVisitor's dispatch with a table; over every module of
    the installed packages that mentions a secret-like name, both walks record the same."""
    import ast as ast_module
    import sysconfig
    from pathlib import Path

    from keydrift.model.config import parse_config
    from keydrift.sources._support.scriptsupport import ScriptCollector
    from keydrift.sources.interface import ReadContext

    class Reference(py._Visitor):
        visit = ast_module.NodeVisitor.visit  # type: ignore[assignment]
        generic_visit = ast_module.NodeVisitor.generic_visit  # type: ignore[assignment]

    names = NameClassifier(preset_specs())
    config = parse_config({})
    compared = recorded = 0
    for path in sorted(Path(sysconfig.get_paths()["purelib"]).rglob("*.py"))[:4000]:
        data = path.read_bytes()
        lines = py.candidate_lines(data, names)
        if not lines:
            continue
        try:
            tree = ast_module.parse(data)
        except (SyntaxError, ValueError):
            continue
        got = []
        for visitor_class in (py._Visitor, Reference):
            ctx = ReadContext(root="/", path=path.name, environment=None, template=False,
                              tracked=None, config=config, files=frozenset(), names=names,
                              read_text=lambda p: "", environment_of=lambda p: None,
                              tracked_of=lambda p: None)
            collector = ScriptCollector(path.name, ctx, "python")
            visitor = visitor_class(collector)
            for node in py._pruned(tree.body, lines):
                visitor.visit(node)
            result = collector.finish()
            got.append((result.assignments, result.code, result.services))
        assert got[0] == got[1], path
        compared += 1
        recorded += len(got[0][0])
    assert compared > 100 and recorded > 50
