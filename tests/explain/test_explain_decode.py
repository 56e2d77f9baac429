"""The untrusted decoder: each malformed kind explained precisely, and a short fuzz pass."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keydrift.explain import MalformedToken, decode_token, render_text, to_json_text
from tests.explain.explain_helpers import NOW, STRONG, b64url, cand, run, sign

GOOD = sign(STRONG)
H, P, S = GOOD.split(".")


def _seg(obj: object) -> str:
    return b64url(json.dumps(obj).encode())


MALFORMED = [
    # (input, kind, segment, words the message must contain)
    ("", "empty", None, "empty"),
    ("Bearer ", "empty", None, "empty"),
    (f"{H}.{P}", "segments", None, "got 2"),
    (f"{H}.{P}.{S}.extra", "segments", None, "got 4"),
    ("notatoken", "segments", None, "no dots"),
    (f"{_seg({'alg': 'RSA-OAEP', 'enc': 'A256GCM'})}.a.b.c.d", "jwe", None, "JWE"),
    (f"{_seg({'alg': 'dir', 'enc': 'A128GCM'})}.{P}.{S}", "jwe", "header", "enc"),
    ('{"payload": "x", "signatures": []}', "json_serialization", None, "JSON"),
    (f"{H}.{P[:5]}+{P[6:]}.{S}", "base64", "payload", "'+' is standard base64"),
    (f"{H}.{P}.{S[:3]}*{S[4:]}", "base64", "signature", "'*' is not a base64url character"),
    (f"{H[:-1]}.{P}.{S}" if len(H) % 4 == 2 else f"{H}A.{P}.{S}", "base64", "header",
     "cannot be base64"),
    (f"{b64url(b'not json')}.{P}.{S}", "header_json", "header", "not JSON"),
    (f"{b64url(bytes([0xff, 0xfe, 0x00]))}.{P}.{S}", "header_json", "header", "not UTF-8"),
    (f"{_seg(['HS256'])}.{P}.{S}", "header_not_object", "header", "list"),
    (f"{H}.{b64url(b'hello world')}.{S}", "payload_json", "payload", "not JSON"),
    (f"{H}.{_seg('a string')}.{S}", "payload_not_object", "payload", "string"),
    (f".{P}.{S}", "empty_segment", "header", "header segment is empty"),
    (f"{H}.{P}\n.{S}", "segments", None, "whitespace inside"),
    ("x" * (64 * 1024 + 1), "too_large", None, "64 KiB"),
    (b"\xff\xfe" + GOOD.encode(), "not_text", None, "UTF-8"),
]


@pytest.mark.parametrize(("text", "kind", "segment", "words"), MALFORMED)
def test_malformed_kinds(text: str | bytes, kind: str, segment: str | None, words: str) -> None:
    with pytest.raises(MalformedToken) as info:
        decode_token(text)
    assert info.value.kind == kind
    assert info.value.segment == segment
    assert words in info.value.message
    e = run(text, cand(STRONG))
    assert (e.verdict.status, e.verdict.reason, e.verdict.exit_code) == (
        "malformed", "malformed", 2)
    assert e.malformed is not None and e.malformed.kind == kind


def test_deep_nesting_is_malformed_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(MalformedToken) as info:
        decode_token(f"{H}.{b64url(deep.encode())[:60000]}.{S}")
    assert info.value.kind in ("payload_json", "base64")
    nested = '{"a":' * 5000 + "1" + "}" * 5000
    token = f"{H}.{b64url(nested.encode())}.{S}"
    if len(token) <= 64 * 1024:
        try:
            decode_token(token)
        except MalformedToken as exc:
            assert exc.kind == "payload_json"


def test_padding_is_accepted_with_a_note() -> None:
    header = _seg({"alg": "HS256", "typ": "JWT!!"})  # 32 bytes: base64url needs one "="
    assert len(header) % 4 == 3
    d = decode_token(f"{header}=.{P}.{S}")
    assert any("padding" in n for n in d.notes)


def test_decoded_fields() -> None:
    d = decode_token(sign(STRONG, headers={"kid": "k1", "crit": ["exp"]}))
    assert (d.alg, d.kid, d.header["crit"]) == ("HS256", "k1", ["exp"])
    assert d.claims["sub"] == "alice"
    assert len(d.signature) == 32


def test_non_finite_times_render_as_json() -> None:
    header = _seg({"alg": "HS256"})
    payload = b64url(b'{"exp": Infinity, "nbf": NaN, "iat": 1e400}')
    e = run(f"{header}.{payload}.{S}", cand(STRONG))
    json.loads(to_json_text(e))
    assert e.verdict.status == "rejected"
    assert {t.status for t in e.times} == {"invalid"}


_B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _json_values() -> st.SearchStrategy[object]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
        max_leaves=12)


def _segment() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(alphabet=_B64_CHARS, max_size=40),
        st.binary(max_size=40).map(b64url),
        _json_values().map(lambda v: b64url(json.dumps(v).encode())),
        st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit", "jwk", "enc", "exp"]),
                        _json_values(), max_size=4).map(lambda v: b64url(json.dumps(v).encode())),
        st.text(max_size=12),
    )


def _object_segment() -> st.SearchStrategy[str]:
    keys = st.sampled_from(["alg", "kid", "typ", "crit", "jwk", "jku", "enc", "exp", "nbf", "iat",
                            "aud", "iss"])
    return st.dictionaries(keys, st.one_of(_json_values(), st.sampled_from(
        ["HS256", "none", "RS256", "HS512"])), max_size=5).map(
        lambda v: b64url(json.dumps(v).encode()))


_non_ascii_text = st.text(st.characters(categories=["L", "N"], min_codepoint=128), min_size=1)
_header = st.fixed_dictionaries(
    {"alg": st.one_of(st.sampled_from(["HS256", "HS384", "HS512", "none", "RS256"]),
                      _json_values())},
    # Non-ASCII printable kids once crashed hmac.compare_digest: generate them on purpose.
    optional={"kid": st.one_of(st.text(), _non_ascii_text, _json_values()), "typ": _json_values(),
              "crit": _json_values(), "jwk": _json_values(), "enc": _json_values()},
).map(lambda v: b64url(json.dumps(v).encode()))

# Header and payload that decode, so the fuzz reaches the kid, claims and alg logic.
_decodable = st.tuples(st.one_of(_header, _object_segment()), _object_segment(),
                       st.binary(max_size=70).map(b64url)).map(".".join)

fuzz_inputs = st.one_of(
    _decodable,
    st.text(max_size=200),
    st.binary(max_size=200),
    st.lists(_segment(), min_size=1, max_size=6).map(".".join),
    st.tuples(st.sampled_from(["", "Bearer ", '"', "'"]),
              st.lists(_segment(), min_size=3, max_size=3).map(".".join)).map("".join),
)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fuzz_inputs)
def test_fuzz_decoder_raises_only_malformed_token(data: str | bytes) -> None:
    try:
        d = decode_token(data)
    except MalformedToken as exc:
        assert exc.kind in MalformedToken.KINDS and exc.message
        return
    assert isinstance(d.header, dict) and isinstance(d.claims, dict)
    assert d.token.count(".") == 2


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_decodable, fuzz_inputs))
def test_fuzz_explain_never_raises_and_renders(data: str | bytes) -> None:
    e = run(data, cand(STRONG))  # bad input is a verdict, never an exception
    json.loads(to_json_text(e))
    render_text(e)
    assert e.verdict.status in ("verified", "rejected", "malformed")
    assert e.now == NOW


def test_malformed_after_stripping_still_says_what_was_stripped() -> None:
    e = run(f'"Bearer {H}.{P}"', cand(STRONG))
    assert e.malformed is not None and e.malformed.kind == "segments"
    assert e.malformed.cleaned == ("stripped surrounding \" quotes",
                                   "stripped the 'Bearer' prefix")
