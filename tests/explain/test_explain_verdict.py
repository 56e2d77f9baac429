"""Tokens built the way real systems go wrong, and the exact verdict and cause for each."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from keydrift.keyring import Keyring
from keydrift.keys import oct_thumbprint
from keydrift.strength import extra_weak_entries, known_weak_entries
from tests.explain.explain_helpers import NOW, OTHER, STRONG, cand, run, sign


def test_exact_expected_secret_verifies() -> None:
    e = run(sign(STRONG), cand(STRONG))
    v = e.verdict
    assert (v.status, v.reason, v.variant, v.exit_code) == ("verified", None, "exact", 0)
    assert v.source is not None and v.source.variable == "JWT_SECRET"
    assert "claims are valid" in v.summary


def _n8n(key: str) -> str:
    return hashlib.sha256(key[::2].encode()).hexdigest()


RAW32 = bytes(range(7, 39))

# (variant, value the candidate source holds, key the signer actually used)
DELIVERY_PATHS = [
    ("quotes_kept", STRONG, f'"{STRONG}"'),
    ("quotes_kept", STRONG, f"'{STRONG}'"),
    ("quotes_stripped", f'"{STRONG}"', STRONG),
    ("trailing_newline", STRONG, STRONG + "\n"),
    ("trailing_newline", STRONG, STRONG + "\r\n"),
    ("whitespace", STRONG + "\n", STRONG),
    ("whitespace", f"  {STRONG} ", STRONG),
    ("base64_decoded", base64.b64encode(RAW32).decode(), RAW32),
    ("base64_decoded", base64.urlsafe_b64encode(RAW32).decode().rstrip("="), RAW32),
    ("base64_encoded", STRONG, base64.b64encode(STRONG.encode()).decode()),
    ("hex_decoded", RAW32.hex(), RAW32),
    ("interpolation_eaten", "Xq7vR2mN9pL4$sT8wK1yZ3bF6cH0gJ5dA", "Xq7vR2mN9pL4"),
    ("interpolation_eaten", "Xq7vR2mN9pL4${ABC}sT8wK1yZ3bF6cH0gJ5dA", "Xq7vR2mN9pL4sT8wK1yZ3bF6cH0gJ5dA"),
    ("preset_derived", STRONG, _n8n(STRONG)),
]


@pytest.mark.parametrize(("variant", "held", "signer_key"), DELIVERY_PATHS)
def test_delivery_path_variant_is_named(variant: str, held: str, signer_key: str | bytes) -> None:
    e = run(sign(signer_key), cand(held, "JWT_SECRET_STAGING", path="staging.env", line=4,
                                   environment="staging"))
    v = e.verdict
    assert (v.status, v.reason, v.variant) == ("rejected", "signature", variant)
    assert v.source is not None
    assert (v.source.variable, v.source.path, v.source.line, v.source.environment) == (
        "JWT_SECRET_STAGING", "staging.env", 4, "staging")
    assert v.summary.startswith("verifies with JWT_SECRET_STAGING from staging.env:4")
    assert v.exit_code == 1


def test_trailing_newline_sentence_names_the_cause() -> None:
    e = run(sign(STRONG + "\n"), cand(STRONG, "JWT_SECRET_STAGING", path="staging.env", line=4))
    assert e.verdict.summary == (
        "verifies with JWT_SECRET_STAGING from staging.env:4 with a trailing newline added: the "
        "signer reads the secret from a file without stripping it"
    )


def test_file_raw_bytes_explain_a_newline_kept_by_the_signer() -> None:
    # The verifier reads the file the way keydrift.resolve does (newline dropped); the signer
    # mounted the same file and used it byte for byte.
    c = cand(STRONG, None, origin="flag_file", path="/run/secrets/jwt", line=None,
             raw=STRONG.encode() + b"\n")
    e = run(sign(STRONG + "\n"), c)
    assert (e.verdict.variant, e.verdict.match and e.verdict.match.variant.via) == (
        "trailing_newline", "file")


def test_wrong_environments_secret() -> None:
    staging = cand(STRONG, "JWT_SECRET_STAGING", path="staging.env", line=4,
                   environment="staging")
    production = cand(OTHER, "JWT_SECRET_PRODUCTION", role="known", path="prod.env", line=7,
                      environment="production")
    e = run(sign(OTHER), staging, production)
    v = e.verdict
    assert (v.status, v.reason, v.variant) == ("rejected", "signature", "exact")
    assert v.source is not None
    assert (v.source.variable, v.source.path, v.source.line) == ("JWT_SECRET_PRODUCTION",
                                                                 "prod.env", 7)
    assert "the signer uses the production secret where staging is expected" in v.summary


def test_rotated_out_key_is_unknown_kid() -> None:
    old_ring = Keyring(OTHER)
    token = old_ring.sign({"sub": "alice"}, now=NOW - 30)
    e = run(token, cand(STRONG))
    v = e.verdict
    assert (v.status, v.reason, v.variant, v.source) == ("rejected", "unknown_kid", None, None)
    assert e.kid.status == "no_match"
    assert e.kid.kid == oct_thumbprint(OTHER.encode())


def test_previous_key_during_rotation_still_verifies() -> None:
    token = Keyring(OTHER).sign({"sub": "alice"}, now=NOW - 30)
    e = run(token, cand(STRONG), cand(OTHER, "JWT_SECRET_PREVIOUS", role="previous"))
    v = e.verdict
    assert (v.status, v.variant) == ("verified", "exact")
    assert v.source is not None and v.source.variable == "JWT_SECRET_PREVIOUS"
    assert "previous key" in v.summary
    assert e.kid.status == "matches"
    assert e.kid.matches[0].candidate.variable == "JWT_SECRET_PREVIOUS"


def test_kid_names_the_candidate_by_thumbprint_even_when_the_signature_fails() -> None:
    # Same kid, different key: the kid claims a source the signature does not confirm.
    token = sign(OTHER, headers={"kid": oct_thumbprint(STRONG.encode())})
    e = run(token, cand(STRONG))
    assert e.kid.status == "matches"
    assert e.verdict.reason == "signature"


@pytest.mark.parametrize("kid", ["ключ-2024", "\u202eevil", 42, "", "x" * 300])
def test_odd_kids_do_not_crash(kid: object) -> None:
    # Regression: a non-ASCII kid crashed hmac.compare_digest (found by bench/fuzz_decode.py).
    e = run(sign(STRONG, headers={"kid": kid}), cand(STRONG))
    assert e.verdict.status == "verified"
    assert e.kid.status in ("no_match", "invalid")


def test_expired() -> None:
    e = run(sign(STRONG, {"exp": NOW - (3 * 3600 + 2 * 60)}), cand(STRONG))
    v = e.verdict
    assert (v.status, v.reason, v.variant) == ("rejected", "expired", "exact")
    assert "expired 3h02m ago" in v.summary
    assert [t.status for t in e.times if t.claim == "exp"] == ["expired"]


def test_expired_within_leeway_verifies() -> None:
    e = run(sign(STRONG, {"exp": NOW - 5}), cand(STRONG), leeway=10)
    assert e.verdict.status == "verified"


def test_not_yet_valid() -> None:
    e = run(sign(STRONG, {"nbf": NOW + 40}), cand(STRONG))
    assert (e.verdict.reason, e.verdict.status) == ("not_yet_valid", "rejected")
    assert "not valid for another 40s" in e.verdict.summary


def test_clock_skew_iat_in_the_future() -> None:
    e = run(sign(STRONG, {"iat": NOW + 120}), cand(STRONG))
    assert e.verdict.reason == "not_yet_valid"
    assert "issued 2m00s in the future: clock skew?" in e.verdict.summary


def test_wrong_audience() -> None:
    e = run(sign(STRONG, {"aud": "billing"}), cand(STRONG), audience=("api",))
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "audience")
    assert "'billing'" in e.verdict.summary and "'api'" in e.verdict.summary


def test_audience_in_list_verifies() -> None:
    e = run(sign(STRONG, {"aud": ["billing", "api"]}), cand(STRONG), audience=("api",))
    assert e.verdict.status == "verified"


def test_wrong_issuer_and_missing_issuer() -> None:
    e = run(sign(STRONG, {"iss": "https://evil"}), cand(STRONG), issuer="https://auth")
    assert e.verdict.reason == "issuer"
    e = run(sign(STRONG), cand(STRONG), issuer="https://auth")
    assert e.verdict.reason == "missing_claim"


def test_algorithm_not_allowed() -> None:
    e = run(sign(STRONG + STRONG, alg="HS512"), cand(STRONG + STRONG), algorithms=("HS256",))
    assert (e.verdict.status, e.verdict.reason, e.verdict.variant) == (
        "rejected", "algorithm", "exact")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_an_attack(alg: str) -> None:
    e = run(sign(None, alg=alg), cand(STRONG))
    assert (e.verdict.status, e.verdict.reason, e.verdict.severity) == (
        "rejected", "attack", "critical")
    assert any(f.code == "alg_none" for f in e.findings)


def _rsa_public_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_key_confusion_hs256_signed_with_the_rsa_public_key() -> None:
    pem = _rsa_public_pem()
    public = cand(pem, None, origin="flag_file", path="jwt-public.pem", line=None,
                  raw=None)
    e = run(sign(pem), public)
    v = e.verdict
    assert (v.status, v.reason, v.variant) == ("rejected", "attack", "exact")
    assert v.source is not None and v.source.path == "jwt-public.pem"
    assert "algorithm confusion" in v.summary


def test_key_confusion_through_a_pem_without_its_final_newline() -> None:
    pem = _rsa_public_pem()
    e = run(sign(pem.rstrip(b"\n")), cand(pem, None, origin="flag_file", path="pub.pem"))
    assert (e.verdict.reason, e.verdict.variant) == ("attack", "whitespace")


def test_rs256_token_verifies_with_the_public_key_file() -> None:
    import jwt

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    token = jwt.encode({"sub": "alice", "exp": NOW + 60}, private, algorithm="RS256")
    public = cand(pem, None, origin="flag_file", path="pub.pem", line=None)
    e = run(token, public, algorithms=("RS256",))
    assert (e.verdict.status, e.verdict.variant) == ("verified", "exact")
    e = run(token, public)  # RS256 not in the default HMAC allowlist
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "algorithm")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    e = run(jwt.encode({"sub": "a", "exp": NOW + 60}, other, algorithm="RS256"), public,
            algorithms=("RS256",))
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "signature")


@pytest.mark.parametrize("header", [
    {"jwk": {"kty": "oct", "k": "c2VjcmV0"}},
    {"jku": "https://attacker.example/jwks.json"},
    {"x5u": "https://attacker.example/cert.pem"},
])
def test_injected_key_headers_are_attacks(header: dict[str, object]) -> None:
    e = run(sign(STRONG, headers=header), cand(STRONG))
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "attack")
    assert any(f.code == f"header_{next(iter(header))}" for f in e.findings)


def _weak_entry() -> tuple[int, bytes]:
    entries = known_weak_entries()
    # A long, distinctive entry from the second half of the list (the scan reaches it late).
    for index in range(len(entries) - 1, len(entries) // 2, -1):
        entry = entries[index]
        if len(entry) >= 16 and entry.isascii() and entries.index(entry) == index:
            return index + 1, entry
    raise AssertionError("no suitable entry")


def test_weak_secret_from_the_public_list_with_no_candidates() -> None:
    line, entry = _weak_entry()
    e = run(sign(entry))
    v = e.verdict
    assert (v.status, v.reason, v.severity) == ("rejected", "weak_secret", "critical")
    assert e.weak is not None
    assert (e.weak.list_name, e.weak.entry) == ("jwt-secrets", line)
    assert known_weak_entries()[e.weak.entry - 1] == entry


def test_weak_secret_from_keydrift_extra_list() -> None:
    entry = next(x for x in extra_weak_entries() if x not in set(known_weak_entries()))
    e = run(sign(entry))
    assert e.verdict.reason == "weak_secret"
    assert e.weak is not None and e.weak.list_name == "keydrift-extra"


def test_weak_secret_that_is_also_the_configured_one() -> None:
    line, entry = _weak_entry()
    e = run(sign(entry), cand(entry))
    assert e.verdict.reason == "weak_secret"
    assert e.weak is not None and e.weak.entry == line
    assert e.verdict.variant == "exact"


def test_empty_secret_is_weak() -> None:
    e = run(sign(b""))
    assert e.verdict.reason == "weak_secret"
    assert e.weak is not None and e.weak.list_name == "empty"


def test_no_candidate_verifies() -> None:
    e = run(sign(OTHER), cand(STRONG))
    v = e.verdict
    assert (v.status, v.reason, v.source, v.variant) == ("rejected", "signature", None, None)
    assert re.match(r"the candidate \(\d+ variants tested\) never verifies it", v.summary)
    assert e.variants_tested >= 10


def test_no_candidates_at_all() -> None:
    e = run(sign(OTHER))
    assert (e.verdict.reason, e.verdict.exit_code) == ("signature", 1)
    assert "no candidate secrets" in e.verdict.summary


def test_expected_exact_beats_a_known_variant() -> None:
    # The same key is both the expected exact value and another source's variant.
    e = run(sign(STRONG), cand(STRONG + "\n", "JWT_SECRET_DEV", role="known"), cand(STRONG))
    assert (e.verdict.status, e.verdict.variant) == ("verified", "exact")


@pytest.mark.parametrize(("text", "cleaned"), [
    ("Bearer {t}", "stripped the 'Bearer' prefix"),
    ("Authorization: Bearer {t}", "stripped the 'Authorization: Bearer' prefix"),
    ('"{t}"', "stripped surrounding \" quotes"),
    ("'Bearer {t}'\n", "stripped surrounding ' quotes"),
])
def test_prefix_and_quotes_are_stripped_and_said(text: str, cleaned: str) -> None:
    e = run(text.format(t=sign(STRONG)), cand(STRONG))
    assert e.verdict.status == "verified"
    assert e.decoded is not None and cleaned in e.decoded.cleaned


def test_non_numeric_exp_rejects_as_malformed_claim() -> None:
    e = run(sign(STRONG, {"exp": "tomorrow"}), cand(STRONG))
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "malformed")
