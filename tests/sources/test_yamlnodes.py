"""The simple-document YAML reader against PyYAML, and the alias-bomb budget.

``iter_yaml`` reads plain block mappings of simple scalars itself and hands everything else to
PyYAML. This differential test is why that reader may exist: on generated streams (simple
documents and near misses) it gives exactly what PyYAML's path gives: the same values, types,
line numbers, texts, and the same error (reason and line) when there is one.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from keydrift.sources._support import yamlnodes
from keydrift.sources._support.yamlnodes import LMap, LSeq, iter_yaml, line_of, scalar_text
from keydrift.sources.interface import UnreadableFile

KEYS = ["apiVersion", "kind", "name", "data", "JWT_SECRET", "a.b", "x-y", "k/v", "on", "yes",
        "null", "true", "1", "image", "environment", "LOG_LEVEL", "key", "y", "n", "_x"]
VALUES = ["v1", "Secret", "dG9rZW4tMDAwMDAx", "example/app:1", "${JWT_SECRET}", "1", "0x1F",
          "1.5", "yes", "off", "~", "null", "2001-12-14", "=", "a b", "a#b", "'q'", "\"dq\"",
          "http://x:80/a?b=c", "1_000", ".inf", "a,b", "x]", "a{b}"]
ODD_VALUES = ["a  b", "a #b",
          "a: b", "a:", "'q'", "\"dq\"", "'it''s'", "\"e\\n\"", "-x", "- x", "?x", "*alias",
          "&anc v", "!tag v", "|", ">", "[a, b]", "{a: 1}", "%x", "@x", "`x", "http://x:80/a?b=c",
          "<<", "1_000", ".inf", "é", "v\t", "a,b", "[x", "x]", "-", "? x", "'open", "\"open"]


def _doc(rng: random.Random, depth: int = 0, indent: int = 0) -> list[str]:
    lines = []
    for _ in range(rng.randint(1, 5)):
        pad = " " * indent
        key = rng.choice(KEYS)
        roll = rng.random()
        if roll < 0.2 and depth < 3:
            lines.append(f"{pad}{key}:")
            step = rng.choice([2, 2, 2, 2, 2, 4, 1, 0])
            lines.extend(_doc(rng, depth + 1, indent + step))
        elif roll < 0.25:
            lines.append(f"{pad}{key}:")
        elif roll < 0.27:
            lines.append(rng.choice(["", "   ", "# comment", f"{pad}# c", f"{pad}- item",
                                     f"{pad}  continued", "\tx: 1", f"{pad}{key}: v # c",
                                     f"{pad}<<: {{a: 1}}", f"{pad}? complex"]))
        else:
            value = rng.choice(ODD_VALUES if rng.random() < 0.08 else VALUES)
            lines.append(f"{pad}{key}: {value}" + rng.choice(["", "", " ", "  "]))
    return lines


def _stream(rng: random.Random) -> str:
    docs = []
    for i in range(rng.randint(1, 4)):
        marker = rng.choice(["---", "---", "--- ", "--- # c", "--- a: 1", ""]) if i else rng.choice(
            ["", "", "---"])
        body = _doc(rng) if rng.random() > 0.1 else []
        docs.append("\n".join(([marker] if marker else []) + body))
    text = "\n".join(docs) + rng.choice(["\n", "", "\n\n"])
    if rng.random() < 0.03:
        text = text.replace("\n", "\r\n")
    return text


def _pyyaml_only(text: str) -> Any:
    return _shape(lambda: list(yamlnodes._pyyaml(text, 0)))


def _ours(text: str) -> Any:
    return _shape(lambda: list(iter_yaml(text)))


def _shape(make: Any) -> Any:
    try:
        docs = make()
    except UnreadableFile as exc:
        return ("error", exc.reason, exc.line)
    return ("ok", [_plain(d) for d in docs])


def _plain(value: Any) -> Any:
    if isinstance(value, LMap):
        return ("map", value.line, sorted(((k, line_of(value, k)) for k in value), key=repr),
                sorted(((k, scalar_text(value, k)) for k in value), key=repr),
                [(repr(k), type(k).__name__, _plain(v)) for k, v in value.items()])
    if isinstance(value, LSeq):
        return ("seq", value.line, value.item_lines, value.texts, [_plain(v) for v in value])
    return (type(value).__name__, value)


def test_differential_against_pyyaml() -> None:
    rng = random.Random(20260812)
    simple = 0
    for i in range(10_000):
        text = _stream(rng)
        expected = _pyyaml_only(text)
        assert _ours(text) == expected, f"stream {i}: {text!r}"
        if expected[0] == "ok" and not yamlnodes._UNSIMPLE.search(text):
            simple += sum(
                yamlnodes._simple_document(chunk, start) not in (yamlnodes._NOT_SIMPLE, None)
                for start, chunk in yamlnodes._documents(text)
            )
    assert simple > 2000  # documents the simple reader took: it really ran, not only PyYAML


def test_many_secret_documents_use_the_simple_reader() -> None:
    text = "---\n".join(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s{i}\ndata:\n  API_TOKEN: dG9r{i}\n"
        for i in range(50)
    )
    docs = list(iter_yaml(text))
    assert len(docs) == 50
    assert docs[49]["metadata"]["name"] == "s49"
    assert line_of(docs[49], "data") == 49 * 7 + 5  # six lines and a marker per document
    assert all(yamlnodes._simple_document(c, s) is not yamlnodes._NOT_SIMPLE
               for s, c in yamlnodes._documents(text))


def test_large_mapping_without_aliases_is_not_an_alias_bomb() -> None:
    # 60,000 services in one document: many nodes, no alias expanded
    services = "".join(f"  s{i}:\n    image: [app, {i}]\n" for i in range(60_000))
    (doc,) = list(yamlnodes._pyyaml("services:\n" + services, 0))
    assert len(doc["services"]) == 60_000


@pytest.mark.parametrize("simple", [True, False])
def test_alias_expansion_is_still_bounded(simple: bool) -> None:
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n"
        for i in range(6)
    )
    with pytest.raises(UnreadableFile, match="alias bomb"):
        list(iter_yaml(bomb if simple else bomb + "tab:\t1\n"))


def _walk_nodes(node: Any, ours: Any, seen: list[int]) -> None:
    """Compare our mapping's key lines and scalar texts with PyYAML's composed nodes (keys in
    the same order: merge keys, which we append last, and complex keys are left out)."""
    if isinstance(node, yaml.MappingNode) and isinstance(ours, LMap):
        pairs = [(k, v) for k, v in node.value
                 if isinstance(k, yaml.ScalarNode) and not k.tag.endswith(":merge")]
        for (key_node, value_node), key in zip(pairs, list(ours), strict=False):
            if key is not None:  # line_of(m) with no key is the mapping's own line
                assert line_of(ours, key) == key_node.start_mark.line + 1, key_node.value
            if isinstance(value_node, yaml.ScalarNode) and ours[key] is not None:
                assert scalar_text(ours, key) == value_node.value, value_node.value
                seen[0] += 1
            _walk_nodes(value_node, ours[key], seen)
    elif isinstance(node, yaml.SequenceNode) and isinstance(ours, LSeq):
        for child, item in zip(node.value, ours, strict=False):
            _walk_nodes(child, item, seen)


def test_key_lines_and_scalar_texts_match_pyyaml_nodes() -> None:
    """Lines are kept as a list in key order and texts only where a value is not its own text;
    both must still answer what PyYAML's composed nodes say, in small and indexed mappings."""
    rng = random.Random(77)
    seen = [0]
    texts = [_stream(rng) for _ in range(3_000)]
    texts.append("services:\n" + "".join(f"  s{i}:\n    n: {i}\n    b: yes\n" for i in range(40)))
    for text in texts:
        try:
            ours = list(iter_yaml(text))
            nodes = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
        except (UnreadableFile, yaml.YAMLError):
            continue
        for node, doc in zip([n for n in nodes if n is not None], ours, strict=False):
            _walk_nodes(node, doc, seen)
    assert seen[0] > 2_000
