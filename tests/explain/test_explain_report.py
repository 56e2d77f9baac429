"""Rendering: the documented schema, terminal safety, and what the reports never show."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]

from keydrift.explain import SCHEMA_VERSION, render_text, to_json, to_json_text
from keydrift.explain.schema import SCHEMA
from tests.explain.explain_helpers import STRONG, cand, run, sign

DOC = Path(__file__).resolve().parents[2] / "docs" / "explain.md"


def test_docs_carry_the_schema_the_code_uses() -> None:
    text = DOC.read_text()
    published = DOC.parent / "schema" / f"explain-output-v{SCHEMA_VERSION}.json"
    assert json.loads(published.read_text()) == SCHEMA
    assert f"schema/explain-output-v{SCHEMA_VERSION}.json" in text
    assert (DOC.parent / "schema" / "explain-output-v1.json").is_file()  # kept for v1 readers
    for kind in SCHEMA["properties"]["verdict"]["properties"]["variant"]["enum"]:
        if kind is not None:
            assert f"`{kind}`" in text
    for reason in SCHEMA["properties"]["verdict"]["properties"]["reason"]["enum"]:
        if reason is not None:
            assert f"`{reason}`" in text


def test_every_verdict_kind_validates() -> None:
    reports = [
        run(sign(STRONG), cand(STRONG)),
        run(sign(STRONG + "\n"), cand(STRONG)),
        run(sign(STRONG, {"exp": 1}), cand(STRONG)),
        run("a.b", cand(STRONG)),
        run(sign(None, alg="none"), cand(STRONG)),
        run(sign(b"secret")),
    ]
    statuses = set()
    for e in reports:
        doc = to_json(e)
        jsonschema.validate(doc, SCHEMA)
        statuses.add(doc["verdict"]["status"])
    assert statuses == {"verified", "rejected", "malformed"}


def test_hostile_claims_cannot_reach_the_terminal() -> None:
    e = run(sign(STRONG, {"sub": "\x1b[2J\x1b]0;pwned\x07", "name": "\u202eevil"}), cand(STRONG))
    text = render_text(e)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\u001b" in text


def test_weak_secret_only_with_the_flag() -> None:
    e = run(sign(b"secret"))
    assert e.weak is not None
    assert '"secret"' not in render_text(e)
    assert "secret" not in json.loads(to_json_text(e))["weak_secret"]
    assert json.loads(to_json_text(e, show_weak_secret=True))["weak_secret"]["secret"] == "secret"
    assert '  secret: "secret"' in render_text(e, show_weak_secret=True)


def test_variant_keys_are_never_rendered() -> None:
    raw32 = bytes(range(65, 97))  # printable bytes, so a leak would be visible as text
    e = run(sign(raw32), cand(raw32.hex()))
    assert e.verdict.variant == "hex_decoded"
    for out in (render_text(e), to_json_text(e)):
        assert raw32.decode() not in out
        assert raw32.hex() not in out
