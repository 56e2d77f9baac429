"""The variants of a candidate secret that real delivery paths produce, each with its cause.

A token that fails with the "right" secret usually verifies with a slightly different one: the
same text with its quotes kept, a trailing newline, base64 applied once too often or too few
times, ``$NAME`` fragments eaten by compose interpolation, or a key an app derives from it. Each
:class:`Variant` says how it differs (``kind``, one of :data:`VARIANT_KINDS`) and what in the
signer's delivery path produces that difference (``cause``).

Derivations are pluggable: a preset may define
``derive_signing_key(value: SecretValue) -> bytes | None`` to contribute its own.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from keydrift.explain.candidates import Candidate
from keydrift.secret import SecretValue

__all__ = [
    "VARIANT_KINDS",
    "Derivation",
    "Variant",
    "classify",
    "preset_derivations",
    "variants_of",
]

VARIANT_KINDS = (
    "exact",
    "quotes_kept",
    "quotes_stripped",
    "trailing_newline",
    "whitespace",
    "base64_decoded",
    "base64_encoded",
    "hex_decoded",
    "interpolation_eaten",
    "preset_derived",
)

_QUOTES = (b'"', b"'")
_INTERPOLATION = re.compile(rb"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
_HEX = re.compile(rb"(?:[0-9a-fA-F]{2})+")
_B64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_B64URL = re.compile(rb"[A-Za-z0-9_-]+={0,2}")


@dataclass(frozen=True)
class Variant:
    """One transformed key. ``key`` is secret material: never print it."""

    kind: str
    key: bytes = field(repr=False)
    phrase: str  # how the signer's key differs: "with a trailing newline added"
    cause: str  # why a signer ends up with it
    via: str | None = None  # the reader or derivation that produced it

    def __reduce__(self) -> NoReturn:
        raise TypeError("Variant holds key material and cannot be pickled")


@dataclass(frozen=True)
class Derivation:
    """A way an app derives its signing key from a configured secret."""

    id: str
    title: str
    derive: Callable[[bytes], bytes | None]
    cause: str


def preset_derivations() -> list[Derivation]:
    """The derivations presets contribute through ``derive_signing_key`` (app knowledge lives
    in presets; a caller with its own passes ``derivations=`` to :func:`variants_of` and
    :func:`~keydrift.explain.verdict.explain`)."""
    from keydrift.presets import all_presets

    out: list[Derivation] = []
    for preset in all_presets():
        if not preset.derives_signing_key:
            continue
        out.append(Derivation(
            id=preset.id, title=preset.title, derive=_preset_hook(preset.derive_signing_key),
            cause=preset.derivation_cause or f"{preset.title} derives its signing key from this secret",
        ))
    return out


def _preset_hook(hook: Callable[[SecretValue], bytes | None]) -> Callable[[bytes], bytes | None]:
    def derive(raw: bytes) -> bytes | None:
        return hook(SecretValue(raw))

    return derive


_PHRASES = {
    "exact": ("as it is", "the signer uses this very value"),
    "quotes_kept": (
        "with its surrounding quotes kept",
        "the signer's delivery path keeps quotes (docker run --env-file and kubectl "
        "--from-env-file do; python-dotenv and compose strip them)",
    ),
    "quotes_stripped": (
        "with its surrounding quotes stripped",
        "this source holds the value with quotes that the signer's reader strips "
        "(python-dotenv, compose env_file)",
    ),
    "trailing_newline": (
        "with a trailing newline added",
        "the signer reads the secret from a file without stripping it",
    ),
    "whitespace": (
        "with surrounding whitespace trimmed",
        "the signer trims the value while this source holds stray whitespace (or the reverse)",
    ),
    "base64_decoded": (
        "base64-decoded",
        "the signer base64-decodes the secret before use while this source holds the encoded "
        "text (or a Kubernetes Secret's data: was decoded once more than expected)",
    ),
    "base64_encoded": (
        "base64-encoded",
        "the signer uses the base64 text of this value: a Kubernetes Secret's data: value used "
        "without decoding, or a value base64-encoded twice",
    ),
    "hex_decoded": (
        "hex-decoded",
        "the signer hex-decodes the secret (bytes.fromhex, Buffer.from(s, 'hex')) while this "
        "source treats the hex text as the key",
    ),
    "interpolation_eaten": (
        "with its $NAME fragments removed",
        "compose interpolation replaced the '$' fragments with empty strings (unset variables); "
        "escape '$' as '$$' in compose files and their env files",
    ),
    "preset_derived": ("derived", "the signer derives its key from this secret"),
}


def phrase(kind: str) -> str:
    return _PHRASES[kind][0]


def _b64_decodings(value: bytes) -> Iterator[bytes]:
    stripped = value.strip()
    if len(stripped) < 4:
        return
    padded = stripped.rstrip(b"=") + b"=" * (-len(stripped.rstrip(b"=")) % 4)
    if _B64.fullmatch(stripped):
        with contextlib.suppress(binascii.Error, ValueError):
            yield base64.b64decode(padded, validate=True)
    if _B64URL.fullmatch(stripped):
        with contextlib.suppress(binascii.Error, ValueError):
            yield base64.urlsafe_b64decode(padded)


def _b64_encodings(value: bytes) -> Iterator[bytes]:
    std = base64.b64encode(value)
    url = base64.urlsafe_b64encode(value)
    yield std
    yield url
    yield url.rstrip(b"=")
    yield std + b"\n"  # `base64` and `echo ... | base64` end their output with a newline


def classify(value: bytes, key: bytes) -> str | None:
    """Which variant kind turns ``value`` into ``key`` (``None`` if none does)."""
    if key == value:
        return "exact"
    for q in _QUOTES:
        if key == q + value + q:
            return "quotes_kept"
        if value == q + key + q:
            return "quotes_stripped"
    if key in (value + b"\n", value + b"\r\n"):
        return "trailing_newline"
    if key.strip() == value.strip():
        return "whitespace"
    if key in _b64_decodings(value):
        return "base64_decoded"
    if key in _b64_encodings(value):
        return "base64_encoded"
    if _HEX.fullmatch(value.strip()) and bytes.fromhex(value.strip().decode("ascii")) == key:
        return "hex_decoded"
    if _INTERPOLATION.sub(b"", value) == key or value.replace(b"$$", b"$") == key:
        return "interpolation_eaten"
    return None


def _reader_kind(value: bytes, key: bytes, reader: str, note: str) -> str:
    kind = classify(value, key)
    if kind is not None and kind != "exact":
        return kind
    text = f"{reader} {note}".lower()
    for needle, guess in (
        ("interpolat", "interpolation_eaten"),
        ("eaten", "interpolation_eaten"),
        ("quotes kept", "quotes_kept"),
        ("quote", "quotes_stripped"),
        ("newline", "trailing_newline"),
        ("base64", "base64_encoded"),
        ("hex", "hex_decoded"),
    ):
        if needle in text:
            return guess
    return "whitespace"


def variants_of(
    candidate: Candidate, *, derivations: Sequence[Derivation] | None = None
) -> list[Variant]:
    """Every distinct key ``candidate`` could become on its way to a signer, exact first.

    ``derivations`` defaults to the presets' (:func:`derivations`)."""
    tried = preset_derivations() if derivations is None else derivations
    value = candidate.value.reveal()
    out: list[Variant] = []
    seen: set[bytes] = set()

    def add(kind: str, key: bytes | None, cause: str | None = None, via: str | None = None,
            text: str | None = None) -> None:
        if not key or key in seen:
            return
        seen.add(key)
        out.append(Variant(kind, key, text or phrase(kind), cause or _PHRASES[kind][1], via))

    add("exact", value)
    # The model knows how each delivery path reads the written text: its notes are the most
    # specific causes, so they go first and win over the generic guesses below.
    for reader in candidate.readers:
        key = reader.value.reveal()
        kind = _reader_kind(value, key, reader.reader, reader.note)
        add(kind, key, f"the signer reads it the way {reader.reader} does ({reader.note})",
            via=reader.reader)
    if candidate.raw is not None:
        raw = candidate.raw.reveal()
        kind = classify(value, raw) or "whitespace"
        if kind == "trailing_newline":
            add(kind, raw, "the signer reads the secret from a file without stripping it",
                via="file")
        else:
            add(kind, raw, "the signer uses the text exactly as written in the file", via="file")
    for q in _QUOTES:
        add("quotes_kept", q + value + q)
    if len(value) >= 2 and value[:1] in _QUOTES and value[:1] == value[-1:]:
        add("quotes_stripped", value[1:-1])
    add("trailing_newline", value + b"\n")
    add("trailing_newline", value + b"\r\n")
    stripped = value.strip()
    if stripped != value:
        if value.rstrip(b"\r\n") == stripped and value.endswith(b"\n"):
            add("whitespace", stripped, "this source holds a trailing newline that the signer "
                "strips (most secret-file readers drop one)", text="with its trailing newline "
                "stripped")
        else:
            add("whitespace", stripped)
    add("whitespace", value + b" ", "the signer's value has a trailing space (an env file line "
        "ending in a space, or an unquoted value with a trailing comment gap)",
        text="with a trailing space")
    for decoded in _b64_decodings(value):
        add("base64_decoded", decoded)
    for encoded in _b64_encodings(value):
        add("base64_encoded", encoded)
    if _HEX.fullmatch(stripped):
        add("hex_decoded", bytes.fromhex(stripped.decode("ascii")))
    if b"$" in value:
        add("interpolation_eaten", _INTERPOLATION.sub(b"", value))
        add("interpolation_eaten", value.replace(b"$$", b"$"),
            "the signer's path interpolates once more than this one and turns '$$' into '$'",
            text="with '$$' collapsed to '$'")
    for derivation in tried:
        try:
            derived = derivation.derive(value)
        except (ValueError, UnicodeError):
            derived = None
        add("preset_derived", derived, derivation.cause, via=derivation.id,
            text=f"derived the way {derivation.title} derives its signing key")
    return out
