"""Variant generation: classification, pluggable derivations, no key material in reprs."""

from __future__ import annotations

import hashlib
import pickle

import pytest

from keydrift.explain.variants import (
    Derivation,
    classify,
    variants_of,
)
from tests.explain.explain_helpers import STRONG, cand, run, sign


@pytest.mark.parametrize(("value", "key", "kind"), [
    (b"abc", b"abc", "exact"),
    (b"abc", b'"abc"', "quotes_kept"),
    (b"'abc'", b"abc", "quotes_stripped"),
    (b"abc", b"abc\n", "trailing_newline"),
    (b"abc\n", b"abc", "whitespace"),
    (b"YWJjZA==", b"abcd", "base64_decoded"),
    (b"abcd", b"YWJjZA==", "base64_encoded"),
    (b"6162", b"ab", "hex_decoded"),
    (b"ab$CDc", b"ab", "interpolation_eaten"),
    (b"a$$b", b"a$b", "interpolation_eaten"),
    (b"abc", b"xyz", None),
])
def test_classify(value: bytes, key: bytes, kind: str | None) -> None:
    assert classify(value, key) == kind


def test_variants_are_distinct_and_exact_first() -> None:
    variants = variants_of(cand(STRONG))
    assert variants[0].kind == "exact"
    keys = [v.key for v in variants]
    assert len(keys) == len(set(keys))


def test_a_given_derivation_is_tried_and_named() -> None:
    test_app = Derivation(
        id="test-app", title="Test App",
        derive=lambda raw: hashlib.sha512(raw).hexdigest().encode(),
        cause="Test App signs with sha512(secret) in hex",
    )
    key = hashlib.sha512(STRONG.encode()).hexdigest()
    e = run(sign(key), cand(STRONG), derivations=[test_app])
    assert (e.verdict.variant, e.verdict.match and e.verdict.match.variant.via) == (
        "preset_derived", "test-app")
    assert "Test App signs with sha512(secret) in hex" in e.verdict.summary
    # Nothing is registered globally: the next explanation does not know Test App.
    assert run(sign(key), cand(STRONG)).verdict.variant is None


def test_a_failing_derivation_is_skipped() -> None:
    def broken(raw: bytes) -> bytes | None:
        raise ValueError("cannot derive")

    broken_app = Derivation(id="broken", title="Broken", derive=broken, cause="x")
    assert variants_of(cand(STRONG), derivations=[broken_app])[0].kind == "exact"


def test_no_key_material_in_repr_or_pickle() -> None:
    for variant in variants_of(cand(STRONG)):
        assert STRONG not in repr(variant)
        with pytest.raises(TypeError):
            pickle.dumps(variant)
    assert STRONG not in repr(cand(STRONG))
