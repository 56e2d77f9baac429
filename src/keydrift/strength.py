"""Strength policy: RFC 7518 length, entropy, placeholders, the known-weak list, public keys.

:func:`check_strength` returns findings as codes and messages that never contain the value, so
callers can log them. Whether a finding refuses the secret or only warns is the caller's policy
(production-like environments refuse; see :mod:`keydrift.resolve`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from keydrift.keys import is_public_key_material, secret_bytes
from keydrift.spec import MIN_HMAC_BYTES

__all__ = [
    "Assessment",
    "StrengthProblem",
    "StrengthReport",
    "assess",
    "check_strength",
    "display_fingerprint",
    "is_guessable",
    "known_weak_entries",
    "known_weak_index",
    "known_weak_lookup",
    "known_weak_match",
    "load_known_weak",
    "placeholder_reason",
]

KNOWN_WEAK_FILE = "jwt-secrets.list"
EXTRA_WEAK_FILE = "extra-weak.txt"


@dataclass(frozen=True)
class StrengthProblem:
    """One reason a secret is weak. ``message`` never contains the secret."""

    code: str  # too_short | low_entropy | placeholder | known_weak | public_key | empty
    message: str


@dataclass(frozen=True)
class StrengthReport:
    problems: tuple[StrengthProblem, ...]
    length: int
    required: int

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.problems)

    def has(self, code: str) -> bool:
        return code in self.codes

    def summary(self) -> str:
        return "; ".join(p.message for p in self.problems) or "strong"


# --- placeholders -----------------------------------------------------------------------------
# Every pattern must stay (practically) silent on random tokens: tests check tens of thousands of
# random base64/hex values. Short words therefore need separators or anchors around them.

_PLACEHOLDER_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), why)
    for p, why in (
        (r"^your[-_ .]", "starts with 'your-', like a template value"),
        (r"^<[^<>]*>$|<(your|insert|secret|jwt|key|token|replace)[^<>]*>", "an <angle-bracket> placeholder"),
        (r"\$\{[^}]*\}|^\$[A-Za-z_][A-Za-z0-9_]*$|^\{\{.*\}\}$", "an unexpanded ${VAR} or {{ }} reference"),
        (r"change[-_ .]?(me|this|it)(?![a-z])", "a 'change-me' placeholder"),
        (r"(?-i:^[Cc]hange(?=[A-Z][a-z])|^change[-_.](?=[a-z]))", "a 'change…' placeholder"),
        (r"(?-i:[-_ .]in[-_ .]prod(uction)?$|InProd(uction)?$)", "an '… in production' placeholder"),
        (r"^replace|replace[-_ .]?(me|this|with)", "a 'replace-me' placeholder"),
        (r"(?-i:^(x{3,}|X{3,})([-_ .]|$)|x{8,}|X{8,})|^\*{3,}|^\.{3,}$",
         "a run of x or * used as a placeholder"),
        (r"(?-i:(^|[^a-zA-Z0-9])(todo|TODO|Todo|fixme|FIXME)([^a-zA-Z0-9]|$))", "a TODO placeholder"),
        (r"(?-i:(^|[^a-zA-Z])(example|EXAMPLE|Example|placeholder|PLACEHOLDER|dummy|DUMMY|sample|"
         r"SAMPLE)([^a-z]|$))", "an example or placeholder value"),
        (r"^(insert|enter|put|set|add)[-_ .](your|a|the|secret|key)([-_ .]|$)",
         "an 'insert your key' placeholder"),
    )
)

# Whether any pattern can match at all: most values match none. For ASCII text, each pattern
# needs one of these lower-case substrings (or starts); `in` finds them faster than eleven
# case-insensitive searches. Other text takes one combined search (`re.IGNORECASE` folds some
# letters, the long s or the Kelvin sign, that `str.lower` does not). The loop still picks the
# first pattern's reason; a differential test holds the gate to the patterns.
_PLACEHOLDER_HINTS = ("your", "<", "$", "{{", "change", "prod", "replace", "xxx", "***", "...",
                      "todo", "fixme", "example", "placeholder", "dummy", "sample")
_PLACEHOLDER_STARTS = ("insert", "enter", "put", "set", "add")
_ANY_PLACEHOLDER_PATTERN = re.compile(
    "|".join(f"(?:{p.pattern})" for p, _ in _PLACEHOLDER_PATTERNS), re.IGNORECASE
)


# The hints as one search over the lower-cased text (a literal alternation: same answer as
# `any(h in low for h in hints)`, in one call).
_HINT = re.compile("|".join(re.escape(h) for h in _PLACEHOLDER_HINTS))


def _may_be_placeholder(text: str) -> bool:
    if text.isascii():
        low = text.lower()
        return low.startswith(_PLACEHOLDER_STARTS) or _HINT.search(low) is not None
    return _ANY_PLACEHOLDER_PATTERN.search(text) is not None

# A value made *only* of these words (and digits) is a description, not a secret:
# "super-secret-jwt-key-for-production", "a-string-secret-at-least-256-bits-long".
_PLACEHOLDER_WORDS = frozenset(
    """
    a an the my our your this that some any for of to at in with and or is be must here long least
    minimum min max chars characters character bits bytes byte length string random secure secret
    secrets key keys jwt token tokens signing sign auth api app application password passwd pass
    default test testing dev development local staging stage prod production live qa env environment
    value super very strong real new please change me replace generate generated insert put set use
    do not dont never commit security hmac hs256 hs384 hs512 session cookie django flask fastapi
    express
    use only just purposes demo docs documentation purpose it value here in encryption
    encrypt enc crypto private shared webhook client access service admin user root
    """.split()  # noqa: SIM905 - a word list reads better as text
)

_WORD_SPLIT = re.compile(r"[-_ .:/]+")
_CAMEL_SPLIT = re.compile(r"(?<=[a-z])(?=[A-Z])")
# Words of a glued placeholder ("randomtokensecret") must be at least this long, so that random
# letters cannot be segmented into short dictionary words.
_MIN_GLUED_WORD = 3


def _segments(word: str) -> bool:
    """``word`` is a concatenation of placeholder words (each at least 3 letters)."""
    n = len(word)
    reachable = [True] + [False] * n
    for end in range(1, n + 1):
        for start in range(max(0, end - 16), end - _MIN_GLUED_WORD + 1):
            if reachable[start] and word[start:end] in _PLACEHOLDER_WORDS:
                reachable[end] = True
                break
    return reachable[n]


def placeholder_reason(value: str) -> str | None:
    """Why ``value`` looks like a placeholder, or ``None``."""
    text = value.strip()
    if not text:
        return None
    if _may_be_placeholder(text):
        for pattern, why in _PLACEHOLDER_PATTERNS:
            if pattern.search(text):
                return why
    words = [w.lower() for w in _WORD_SPLIT.split(_CAMEL_SPLIT.sub("-", text)) if w]
    unknown: list[str] = []
    for w in words:
        if w not in _PLACEHOLDER_WORDS and not w.isdigit():
            unknown.append(w)
            if len(unknown) > 1:
                return None  # every test below allows one unknown word at most (random text)
    if (
        words
        and not unknown
        and not all(w.isdigit() for w in words)
    ):
        return "made only of words like 'secret', 'key' or 'production', not random characters"
    if (
        len(words) == 1 and words[0].isalpha() and len(words[0]) >= 2 * _MIN_GLUED_WORD
        and _segments(words[0])
    ):
        return "made only of words like 'secret', 'key' or 'production', not random characters"
    # An app or product name plus such words: "airflow_jwt_secret", "<app>-secret-key".
    known = len(words) - len(unknown)
    if (
        "/" not in text
        and len(unknown) == 1 and known >= 2 and unknown[0].isalpha() and len(unknown[0]) <= 12
        and any(w in _SECRET_WORDS for w in words)
    ):
        return "an app name plus words like 'secret' or 'key', not random characters"
    return None


_SECRET_WORDS = frozenset({"secret", "key", "jwt", "token", "password", "pass", "encryption"})


# --- known-weak list ---------------------------------------------------------------------------

def _separator(data: bytes) -> bytes:
    # The list uses CRLF endings; entry N is line N (1-based) of the shipped file.
    return b"\r\n" if b"\r\n" in data else b"\n"


def _read_data(name: str) -> bytes:
    return resources.files("keydrift.data").joinpath(name).read_bytes()


@cache
def _weak_entries() -> list[bytes]:
    """The public list's entries, entry N at index N-1. Split on first use, once per process
    (shipped data: never changes): only ``keydrift explain`` needs them; whether a value is
    listed is :func:`_listed`'s question, which needs none."""
    padded, sep = _load_lines()
    return padded[len(sep) : -len(sep)].split(sep)


@cache
def _load_extra() -> dict[bytes, int]:
    extra: dict[bytes, int] = {}
    for lineno, line in enumerate(_read_data(EXTRA_WEAK_FILE).split(b"\n"), start=1):
        if line and not line.startswith(b"#"):
            extra.setdefault(line, lineno)
    return extra


# Whether a value is in the public list, without splitting and hashing its 104,000 entries
# (~20 ms, paid by every process before its first judgement): a Bloom filter of the list,
# shipped beside it, says "no" for nearly every value, and a "maybe" is settled by searching
# the list's bytes for the whole line. No library ships a Bloom filter we could load from a
# file; tests/test_strength.py holds this to the set of entries, and the shipped filter to
# the shipped list (and says how to write it again).
KNOWN_WEAK_FILTER_FILE = "jwt-secrets.bloom"
_FILTER_BITS = 21  # 2**21 bits (256 KiB): ~0.06% of unlisted values get a "maybe"
_FILTER_HASHES = 5


def _filter_positions(raw: bytes) -> list[int]:
    digest = int.from_bytes(hashlib.blake2b(raw, digest_size=16, person=b"keydrift-weak").digest())
    mask = (1 << _FILTER_BITS) - 1
    return [(digest >> (_FILTER_BITS * i)) & mask for i in range(_FILTER_HASHES)]


def build_known_weak_filter(data: bytes) -> bytes:
    """The Bloom filter of a known-weak list's bytes (what ``jwt-secrets.bloom`` holds)."""
    bits = bytearray(1 << (_FILTER_BITS - 3))
    for entry in data.split(_separator(data)):
        if entry:
            for pos in _filter_positions(entry):
                bits[pos >> 3] |= 1 << (pos & 7)
    return bytes(bits)


@cache
def _load_filter() -> bytes:
    return _read_data(KNOWN_WEAK_FILTER_FILE)


@cache
def _load_lines() -> tuple[bytes, bytes]:
    """The list's bytes with a separator before and after, and the separator: read on the
    first "maybe" only (a tree may never give one)."""
    data = _read_data(KNOWN_WEAK_FILE)
    sep = _separator(data)
    return sep + data + sep, sep


def _listed(raw: bytes) -> bool:
    """``raw`` is a non-empty entry of the public list (:func:`_weak_entries`)."""
    if not raw:
        return False  # no entry is empty
    if b"\n" in raw and _load_lines()[1] in raw:
        return False  # nor spans lines (every separator holds a line feed)
    bits = _load_filter()
    for pos in _filter_positions(raw):
        if not bits[pos >> 3] & (1 << (pos & 7)):
            return False
    padded, sep = _load_lines()
    return sep + raw + sep in padded


@cache
def _weak_lines() -> dict[bytes, int]:
    """Each public entry's first line. Built on first use: only ``keydrift explain`` asks for
    lines; a check asks only whether a value is listed."""
    entries = _weak_entries()
    # Built in C, last line first, so each entry keeps the number of its first line.
    return dict(zip(reversed(entries), range(len(entries), 0, -1), strict=True))


def _weak_line(raw: bytes) -> int | None:
    return _weak_lines().get(raw) if _listed(raw) else None


def known_weak_entries() -> list[bytes]:
    """The public known-weak list (wallarm/jwt-secrets, MIT), entry N at index N-1."""
    return _weak_entries()


def extra_weak_entries() -> list[bytes]:
    """keydrift's own additions: documentation and app defaults missing from the public list."""
    return list(_load_extra())


def known_weak_index(secret: Any) -> int | None:
    """Line number of ``secret`` in the known-weak list, or ``None``. O(1) after a lazy load.

    The list ships with keydrift, so a line number *is* the secret: never put it in a message,
    log record, report or endpoint. Only ``keydrift explain`` uses it, for a token already
    signed with that entry.
    """
    return _weak_line(secret_bytes(secret))


def known_weak_lookup(secret: Any) -> tuple[str, int] | None:
    """``("jwt-secrets", line)`` or ``("keydrift-extra", line)`` for a listed secret, else
    ``None``. The same caution as :func:`known_weak_index` applies to the line."""
    raw = secret_bytes(secret)
    line = _weak_line(raw)
    if line is not None:
        return "jwt-secrets", line
    extra = _load_extra()
    if raw in extra:
        return "keydrift-extra", extra[raw]
    return None


KNOWN_WEAK_CATEGORY = {
    "jwt-secrets": "in a public list of known JWT secrets",
    "keydrift-extra": "in keydrift's list of published app and documentation defaults",
}


def known_weak_match(secret: Any) -> str | None:
    """Which kind of public list holds ``secret`` (never the entry), or ``None``."""
    raw = secret_bytes(secret)
    if _listed(raw):
        return KNOWN_WEAK_CATEGORY["jwt-secrets"]
    if raw in _load_extra():
        return KNOWN_WEAK_CATEGORY["keydrift-extra"]
    return None


def load_known_weak() -> None:
    """Load what judging a value against the known-weak lists needs now (a check does before
    it forks, so both processes share one copy)."""
    _load_filter()
    _load_extra()


# --- entropy -----------------------------------------------------------------------------------


def _shannon_bits_per_char(text: bytes) -> float:
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_REPEAT = re.compile(rb"^(.{1,16}?)\1+(.{0,16})$", re.DOTALL)


def _entropy_problem(raw: bytes) -> str | None:
    if len(raw) < 8:
        return None  # length finding already covers it
    counts = Counter(raw)
    distinct = len(counts)
    if distinct < 6 or (len(raw) >= 20 and distinct < 10):
        return f"only {distinct} distinct characters"
    # A block of p <= 16 characters repeated from the start has raw[p] == raw[0]: without the
    # first character among the next 16, no repeat can match (most random values).
    m = _REPEAT.match(raw) if raw.find(raw[:1], 1, 17) >= 0 else None
    if m and len(m.group(1)) * 2 <= len(raw):
        return f"a {len(m.group(1))}-character pattern repeated"
    if len(raw) > 8 * max(counts.values()):
        # Shannon entropy is at least the min-entropy log2(n / most common count), which is
        # then above 3 bits: the value passes without summing the logarithms.
        return None
    bits = _shannon_bits_per_char(raw)
    if bits < 3.0:
        return f"low entropy ({bits:.1f} bits per character)"
    return None


# --- the check ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """What the policy finds in one value, computed once: :func:`check_strength` and
    :func:`is_guessable` are views of it. Holds reasons and sizes, never the value."""

    length: int
    stripped_length: int
    public_key: bool
    placeholder: str | None
    known_weak: str | None
    entropy: str | None
    search_bits: float

    def report(self, algorithm: str = "HS256", *, min_bytes: int | None = None) -> StrengthReport:
        """The problems for a key used with ``algorithm`` (see :func:`check_strength`)."""
        required = max(MIN_HMAC_BYTES.get(algorithm, 32), min_bytes or 0)
        if not self.stripped_length:
            return StrengthReport(
                (StrengthProblem("empty", "the secret is empty"),), length=self.length,
                required=required,
            )
        problems: list[StrengthProblem] = []
        if self.public_key:
            problems.append(
                StrengthProblem(
                    "public_key",
                    "this is key material (PEM, DER, SSH or JWK), not an HMAC secret: whoever "
                    "has the public key could forge tokens (algorithm confusion)",
                )
            )
        if self.length < required:
            problems.append(
                StrengthProblem(
                    "too_short",
                    f"{self.length} bytes; RFC 7518 section 3.2 requires at least {required} "
                    f"for {algorithm}",
                )
            )
        if self.placeholder:
            problems.append(
                StrengthProblem("placeholder", f"looks like a placeholder: {self.placeholder}"))
        if self.known_weak:
            problems.append(
                StrengthProblem("known_weak", f"publicly known weak secret ({self.known_weak}): "
                                "anyone can forge tokens with it")
            )
        if not self.public_key and self.entropy:
            problems.append(StrengthProblem("low_entropy", f"low entropy: {self.entropy}"))
        return StrengthReport(tuple(problems), length=self.length, required=required)

    @property
    def guessable(self) -> bool:
        """See :func:`is_guessable`."""
        return (
            self.stripped_length < MIN_FINGERPRINT_BYTES
            or self.search_bits < MIN_FINGERPRINT_BITS
            or self.entropy is not None
            or self.known_weak is not None
            or self.placeholder is not None
        )


def assess(secret: Any) -> Assessment:
    """Everything :func:`check_strength` and :func:`is_guessable` look at, for one value.
    Accepts ``str``, ``bytes``, ``SecretValue`` or ``ResolvedSecret``."""
    raw = secret_bytes(secret)
    stripped = len(raw.strip())
    return Assessment(
        length=len(raw),
        stripped_length=stripped,
        public_key=bool(stripped) and is_public_key_material(raw),
        placeholder=placeholder_reason(raw.decode("utf-8", errors="replace")),
        known_weak=known_weak_match(raw),
        entropy=_entropy_problem(raw),
        search_bits=_search_bits(raw),
    )


def check_strength(
    secret: Any, algorithm: str = "HS256", *, min_bytes: int | None = None
) -> StrengthReport:
    """Assess an HMAC secret. Accepts ``str``, ``bytes``, ``SecretValue`` or ``ResolvedSecret``.

    Problems: ``empty``, ``too_short`` (RFC 7518 3.2: 32/48/64 bytes for HS256/384/512),
    ``low_entropy``, ``placeholder``, ``known_weak`` and ``public_key``.
    """
    return assess(secret).report(algorithm, min_bytes=min_bytes)


# --- fingerprints that would give a value away --------------------------------------------------

# A fingerprint is an unsalted SHA-256 of the value: anyone holding it can test guesses offline
# at GPU speed. Below this many bits of search space a value is recovered in days or less
# (2**64 SHA-256 evaluations is decades on one GPU), so its fingerprint is withheld.
MIN_FINGERPRINT_BITS = 64
# And whatever is this short, whatever its alphabet: short values are typed by people.
MIN_FINGERPRINT_BYTES = 16
WEAK_LABEL = "weak"

_POOLS = (
    (frozenset(b"0123456789"), 10),
    (frozenset(b"abcdefghijklmnopqrstuvwxyz"), 26),
    (frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"), 26),
)


_ALNUM = frozenset().union(*(chars for chars, _ in _POOLS))


def _search_bits(raw: bytes) -> float:
    """Bits of a brute-force search over the character classes the value uses.

    A cheap upper bound on what an attacker must try, not a password meter: it only has to
    say that a 6-digit PIN or an 8-letter word is within reach. Values it rates high may still
    be guessable (dictionary words); the known-weak list, the placeholder patterns and the
    entropy checks catch the common ones.
    """
    used = set(raw)
    pool = 0
    for chars, size in _POOLS:
        if not used.isdisjoint(chars):
            pool += size
    rest = used - _ALNUM
    if rest:
        pool += 256 if any(b < 0x20 or b > 0x7E for b in rest) else 33
    return len(raw) * math.log2(max(pool, 2))


def is_guessable(secret: Any) -> bool:
    """True when a value's fingerprint would give the value away.

    Shorter than :data:`MIN_FINGERPRINT_BYTES`, listed as known-weak, a placeholder, low in
    entropy, or a search space under :data:`MIN_FINGERPRINT_BITS`. Such values are shown as
    ``weak``, never fingerprinted.
    """
    return assess(secret).guessable


def display_fingerprint(secret: Any) -> str:
    """The short fingerprint to show for a value, or ``weak`` when it would give it away."""
    from keydrift.keys import oct_thumbprint, short

    raw = secret_bytes(secret)
    return WEAK_LABEL if is_guessable(raw) else short(oct_thumbprint(raw))
