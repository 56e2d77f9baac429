"""``report._jsontext.indented`` against ``json.dumps(indent=2)``: the reason it may exist."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from keydrift.check import run_check
from keydrift.report import json as json_report
from keydrift.report import sarif
from keydrift.report._jsontext import indented

# Every code point, surrogates included (a file name that is not UTF-8 decodes to them), with
# the characters where the two encoders could differ drawn often.
_TRICKY = st.sampled_from(
    ["\x00", "\x1f", "\x7f", "\x80", "\x9b", "\u00e9", "\u2028", "\u202e", "\ud800", "\udc80",
     "\U0001f600", "\U0010ffff", '"', "\\", "/", "\t", "\n", "\r", "\b", "\f"])
_TEXT = st.lists(st.one_of(st.characters(), _TRICKY), max_size=12).map("".join)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), _TEXT)
_DOC = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(_TEXT, inner, max_size=4),
    ),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(_DOC)
def test_same_text_as_json_dumps(doc: Any) -> None:
    assert indented(doc) == json.dumps(doc, indent=2) + "\n"


def test_non_ascii_and_del_are_escaped_like_ensure_ascii() -> None:
    doc = {"path": "caf\u00e9/\x7f\U0001f600.env", "lines": [1, None, True], "empty": [{}, []]}
    text = indented(doc)
    assert text.isascii()
    assert "\\u00e9" in text and "\\u007f" in text and "\\ud83d\\ude00" in text
    assert text == json.dumps(doc, indent=2) + "\n"


def test_lone_surrogate_falls_back_to_the_standard_library() -> None:
    doc = {"path": "bad-\udc80-name.env"}
    assert indented(doc) == json.dumps(doc, indent=2) + "\n"
    assert "\\udc80" in indented(doc)


def test_reports_are_what_json_dumps_writes(tmp_path: Any) -> None:
    """A real check's JSON and SARIF reports, non-ASCII names included."""
    (tmp_path / "d\u00e9ploy").mkdir()
    (tmp_path / "d\u00e9ploy" / ".env.production").write_text(
        "JWT_SECRET=changeme\nSECRET_KEY=caf\u00e9-secret-key\n", encoding="utf-8")
    result = run_check([str(tmp_path)])
    assert result.findings
    for module in (json_report, sarif):
        text = module.render(result)
        assert text == json.dumps(module.document(result), indent=2) + "\n"
        assert "d\\u00e9ploy" in text
