"""Compose interpolation: every operator, nesting, `$$`, unset versus empty."""

from __future__ import annotations

import pytest

from keydrift.sources._support.interpolation import interpolate

ENV = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("${SET}", "value"),
        ("$SET/x", "value/x"),
        ("${UNSET}", ""),
        ("${UNSET:-default}", "default"),
        ("${EMPTY:-default}", "default"),
        ("${EMPTY-default}", ""),
        ("${UNSET-default}", "default"),
        ("${SET:-default}", "value"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:-${SET}}", "value"),
        ("${UNSET:-a${UNSET2:-b}c}", "abc"),
        ("$$SET", "$SET"),
        ("a$$", "a$"),
        ("cost: 5$", "cost: 5$"),
        ("${SET:?must be set}", "value"),
    ],
)
def test_operators(text: str, expected: str) -> None:
    assert interpolate(text, ENV.get).text == expected


def test_required_missing_is_reported() -> None:
    result = interpolate("${NOPE:?set NOPE}", ENV.get)
    assert result.text == ""
    assert result.required_missing == ["NOPE"]


def test_eaten_fragment_is_reported_as_missing() -> None:
    result = interpolate("ab$cdef", ENV.get)
    assert result.text == "ab"
    assert result.missing == ["cdef"]


def test_unterminated_brace_is_kept() -> None:
    assert interpolate("x${SET", ENV.get).text == "x${SET"
