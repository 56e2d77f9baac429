"""Strength policy: length, entropy, placeholders, the known-weak list, public keys."""

from __future__ import annotations

import base64
import itertools
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keydrift.strength import (
    check_strength,
    known_weak_entries,
    known_weak_index,
    placeholder_reason,
)

PLACEHOLDERS = [
    "your-secure-jwt-secret-key-staging-64-chars-minimum-for-security",
    "your_jwt_secret_here_please_change_it_now_0123456",
    "change-me-change-me-change-me-change-me-1234",
    "CHANGEME_TO_SOMETHING_RANDOM_AND_LONG_1234567",
    "<your-secret>",
    "<JWT_SECRET>",
    "${JWT_SECRET}",
    "${JWT_SECRET:-default}",
    "{{ jwt_secret }}",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "TODO: set a real secret before deploying!!",
    "replace-with-a-long-random-string-of-64-chars",
    "example-secret-key-for-documentation-only-0000",
    "super-secret-jwt-key-for-production-use-only",
    "a-string-secret-at-least-256-bits-long",
    "insert-your-secret-key-here-before-you-deploy",
]


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_placeholders_detected(value: str) -> None:
    assert placeholder_reason(value) is not None
    assert check_strength(value).has("placeholder")


@pytest.mark.parametrize(
    "value",
    [
        secrets.token_urlsafe(48),
        secrets.token_hex(32),
        base64.b64encode(secrets.token_bytes(48)).decode(),
        "my-app-secret-9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c",
    ],
)
def test_strong_values_pass(value: str) -> None:
    report = check_strength(value)
    assert report.ok, report.summary()


def test_random_tokens_never_flagged() -> None:
    # Any encoding of 32+ truly random bytes must pass: false positives train people to ignore us.
    for i in range(3000):
        raw = secrets.token_bytes(32 + i % 33)
        for encoded in (base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), raw.hex(),
                        base64.b64encode(raw).decode()):
            report = check_strength(encoded)
            assert report.ok, (report.summary(), len(encoded))


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_any_text_gives_a_report_without_the_value(text: str) -> None:
    value = "Qz9" + text  # a prefix no message wording contains
    report = check_strength(value)
    assert all(value not in p.message for p in report.problems)


@pytest.mark.parametrize(
    ("algorithm", "required"), [("HS256", 32), ("HS384", 48), ("HS512", 64)]
)
def test_rfc7518_lengths(algorithm: str, required: int) -> None:
    just_short = secrets.token_hex(required)[: required - 1]
    report = check_strength(just_short, algorithm)
    assert report.has("too_short") and f"at least {required}" in report.summary()
    assert check_strength(secrets.token_hex(required)[:required], algorithm).ok


@pytest.mark.parametrize(
    "value",
    ["a" * 64, "abababababababababababababababababab", "0123456789" * 5, "aaaabbbbaaaabbbb" * 3],
)
def test_low_entropy(value: str) -> None:
    assert check_strength(value).has("low_entropy")


def test_known_weak_list_lookup_is_exact_and_indexed() -> None:
    entries = known_weak_entries()
    assert len([e for e in entries if e]) >= 103_000
    probe = next(e for e in entries[5000:] if len(e) > 3)
    index = known_weak_index(probe)
    assert index is not None and entries[index - 1] == probe
    assert known_weak_index(probe + b"-not-in-list-" + secrets.token_hex(8).encode()) is None
    report = check_strength(probe)
    # The list ships with keydrift, so a line number would be the secret: only the category.
    assert report.has("known_weak") and "in a public list of known JWT secrets" in report.summary()
    assert str(index) not in report.summary() and str(index) not in repr(report)
    assert probe.decode(errors="replace") not in report.summary()


@pytest.mark.parametrize("value", ["t0p-s3cr3t", "a-string-secret-at-least-256-bits-long",
                                   "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET"])
def test_published_app_defaults(value: str) -> None:
    assert check_strength(value).has("known_weak")


def test_empty() -> None:
    assert check_strength("").codes == ("empty",)
    assert check_strength("   ").codes == ("empty",)


def test_messages_never_contain_the_value() -> None:
    for value in [*PLACEHOLDERS, "short-value", "b" * 40]:
        report = check_strength(value)
        assert value not in report.summary()


@pytest.mark.parametrize(
    "token",
    [
        "xXxq3V0n8bQ2mK7tR1yZ4wF6hJ9cL5dA0sE2gP8uN3",  # starts with a mixed-case x run
        "_XZuTFQMEogDUmmyR15sK2p9vW4nB7cF1hJ6tL0dQ8",  # "DUmmy" inside random text
        "tbd_VEUKSCOZCiR3-iqVm8Hk2Pq9wX5zA1nT7yB4cD",  # "tbd" then a separator
        "setaQ9vW4nB7cF1hJ6tL0dQ8K2p9mX5zA1nT7yB4cD",  # "set" + "a": not "set a ..."
        "7KL78M_kg-hLhbLg1n1XSamplerQ9vW4nB7cF1hJ6t",  # "Sample" glued to random text
    ],
)
def test_regression_random_tokens_with_placeholder_fragments(token: str) -> None:
    # Each of these once matched a placeholder pattern in a run of 600,000 random tokens.
    assert placeholder_reason(token) is None
    assert check_strength(token).ok


def test_the_placeholder_gate_never_hides_a_pattern() -> None:
    """``placeholder_reason`` asks a cheap gate before trying the eleven patterns in order; the
    gate may only skip values that none of them matches (ASCII and not)."""
    import random

    from keydrift import strength

    def reference(text: str) -> str | None:
        return next((why for p, why in strength._PLACEHOLDER_PATTERNS if p.search(text)), None)

    rng = random.Random(7)
    pieces = ["your-", "<", ">", "${", "}", "{{", "change", "Change", "Me", "-in-prod", "InProd",
              "replace", "with", "xxx", "XXXXXXXX", "***", "...", "todo", "TODO", "example",
              "Sample", "insert", "Insert", "set", "add", "enter", "put", "_", " ", "-", "a",
              "Z", "9", "\u017f", "\u212a", "\u0130", "é", "$X", secrets.token_urlsafe(6)]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(30_000)]
    texts += [secrets.token_urlsafe(24) for _ in range(2_000)]
    texts += ["in\u017fert-your-key", "\u0130nsert-the-secret", "\u212aey", "ſample-value",
              "set-a-key", "add_the_key", "put-secret", "ENTER-KEY", "Add the secret",
              "{{ vault }}", "Changethis", "<jwt>", "xxx-1", "...", "***abc"]
    for text in texts[-11:]:
        assert reference(text) is not None, text  # each needs its own hint to pass the gate
    matched = 0
    for text in texts:
        want = reference(text)
        assert strength._may_be_placeholder(text) or want is None, text
        if want is not None and text.strip() == text:
            assert strength.placeholder_reason(text) == want
        matched += want is not None
    assert matched > 5_000


def test_min_entropy_shortcut_gives_the_full_computation_verdict() -> None:
    """``_entropy_problem`` skips the Shannon sum when the min-entropy bound already clears
    3 bits; on skewed and uniform strings alike it must say what the full sum says."""
    import random
    import string

    from keydrift import strength

    def full(raw: bytes) -> str | None:
        if len(raw) < 8:
            return None
        distinct = len(set(raw))
        if distinct < 6 or (len(raw) >= 20 and distinct < 10):
            return f"only {distinct} distinct characters"
        m = strength._REPEAT.match(raw)
        if m and len(m.group(1)) * 2 <= len(raw):
            return f"a {len(m.group(1))}-character pattern repeated"
        bits = strength._shannon_bits_per_char(raw)
        return f"low entropy ({bits:.1f} bits per character)" if bits < 3.0 else None

    rng = random.Random(11)
    low = 0
    for _ in range(20_000):
        alphabet = rng.sample(string.ascii_letters + string.digits, rng.choice([6, 8, 10, 12, 16, 40]))
        weights = [rng.random() ** rng.choice([1, 3, 6]) for _ in alphabet]
        raw = "".join(rng.choices(alphabet, weights=weights, k=rng.randint(8, 90))).encode()
        want = full(raw)
        assert strength._entropy_problem(raw) == want, raw
        low += want is not None and want.startswith("low entropy")
    assert low > 500  # the sum's own verdicts were exercised, not only the shortcut
    # Repeated blocks (the pattern test is skipped when the first byte does not come back
    # within 16): blocks of every length, with and without a tail, and near misses.
    repeated = 0
    pool = (string.ascii_letters + string.digits).encode()
    for _ in range(20_000):
        block = bytes(rng.choices(pool, k=rng.randint(1, 20)))
        raw = block * rng.randint(1, 6) + bytes(rng.choices(pool, k=rng.randint(0, 18)))
        if rng.random() < 0.3:
            raw = bytes(rng.choices(pool, k=rng.randint(8, 40)))
        want = full(raw)
        assert strength._entropy_problem(raw) == want, raw
        repeated += want is not None and "repeated" in want
    assert repeated > 2_000


def test_placeholder_word_analysis_gives_the_full_computation_verdict() -> None:
    """``placeholder_reason`` stops reading words at the second one it does not know (no
    verdict allows two); over placeholders, names and random tokens it must say what the full
    analysis says."""
    import random

    from keydrift import strength

    def full(value: str) -> str | None:
        text = value.strip()
        if not text:
            return None
        for pattern, why in strength._PLACEHOLDER_PATTERNS:
            if pattern.search(text):
                return why
        words = [w.lower() for w in strength._WORD_SPLIT.split(
            strength._CAMEL_SPLIT.sub("-", text)) if w]
        words_only = "made only of words like 'secret', 'key' or 'production', not random characters"
        if (words and all(w in strength._PLACEHOLDER_WORDS or w.isdigit() for w in words)
                and not all(w.isdigit() for w in words)):
            return words_only
        if (len(words) == 1 and words[0].isalpha() and len(words[0]) >= 6
                and strength._segments(words[0])):
            return words_only
        unknown = [w for w in words if w not in strength._PLACEHOLDER_WORDS and not w.isdigit()]
        if ("/" not in text and len(unknown) == 1 and len(words) - 1 >= 2
                and unknown[0].isalpha() and len(unknown[0]) <= 12
                and any(w in strength._SECRET_WORDS for w in words)):
            return "an app name plus words like 'secret' or 'key', not random characters"
        return None

    rng = random.Random(13)
    vocabulary = sorted(strength._PLACEHOLDER_WORDS)
    others = ["airflow", "acme", "n8n", "Supabase", "x9", "zq", "2024", "42", "a/b", "Kelvin"]
    seps = ["-", "_", " ", ".", ":", "/", ""]
    verdicts = 0
    for _ in range(40_000):
        parts = [rng.choice(vocabulary if rng.random() < 0.7 else others)
                 for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.3:
            parts = [p.capitalize() for p in parts]
        text = rng.choice(seps).join(parts)
        if rng.random() < 0.1:
            text = secrets.token_urlsafe(rng.randint(4, 30))
        want = full(text)
        assert strength.placeholder_reason(text) == want, text
        verdicts += want is not None
    assert verdicts > 10_000


def test_shipped_known_weak_filter_is_built_from_the_shipped_list() -> None:
    """After the list changes, write the filter again:
    ``python -c "import pathlib, keydrift.strength as s; d = pathlib.Path(s.__file__).parent /
    'data'; (d / s.KNOWN_WEAK_FILTER_FILE).write_bytes(s.build_known_weak_filter((d /
    s.KNOWN_WEAK_FILE).read_bytes()))"``"""
    from importlib import resources

    from keydrift.strength import KNOWN_WEAK_FILE, KNOWN_WEAK_FILTER_FILE, build_known_weak_filter

    data = resources.files("keydrift.data")
    shipped = data.joinpath(KNOWN_WEAK_FILTER_FILE).read_bytes()
    assert shipped == build_known_weak_filter(data.joinpath(KNOWN_WEAK_FILE).read_bytes())


def test_listed_gives_the_set_of_entries_answer() -> None:
    """The filter-and-search lookup against ``raw in set(entries)``: every entry, near misses
    of entries (a byte more or less, neighbours glued across a line break, CR or LF alone),
    the empty value and random values."""
    import random

    from keydrift.strength import _listed, _weak_entries

    entries = _weak_entries()
    members = set(entries) - {b""}
    rng = random.Random(11)
    listed = [e for e in entries if e]
    # A "maybe" searches the list's 1.2 MB: a sample of entries, with the first and the last.
    probes = [listed[0], listed[-1], *rng.sample(listed, 6000)]
    probes += [e[:-1] for e in rng.sample(listed, 3000)]
    probes += [e + bytes([rng.randrange(256)]) for e in rng.sample(listed, 3000)]
    probes += [a + b"\r\n" + b for a, b in itertools.pairwise(entries)][:2000]
    probes += [a + b"\n" + b for a, b in itertools.pairwise(entries)][:500]
    probes += [b"", b"\r", b"\n", b"\r\n", b"\r\n" + entries[0], entries[-1] + b"\r\n"]
    probes += [secrets.token_bytes(rng.randrange(1, 40)) for _ in range(20_000)]
    maybes = 0
    for raw in probes:
        assert _listed(raw) is (raw in members), raw
    for raw in probes[-20_000:]:
        from keydrift.strength import _filter_positions, _load_filter

        bits = _load_filter()
        maybes += all(bits[p >> 3] & (1 << (p & 7)) for p in _filter_positions(raw))
    assert sum(1 for raw in probes if raw in members) >= 6000
    assert maybes < 100  # the filter settles nearly every unlisted value without a search
