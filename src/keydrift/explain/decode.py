"""Decode a token without trusting it, and say precisely what is wrong when it is not a JWS.

PyJWT's decoder is lenient where a diagnosis needs precision (``urlsafe_b64decode`` silently
drops characters outside the alphabet, and its errors do not say which segment failed), so the
structure is parsed here: split, strict base64url per segment, JSON, then shape. Nothing in this
module verifies anything; every value it returns is attacker-controlled.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from keydrift.errors import InputError

__all__ = [
    "MAX_TOKEN_CHARS",
    "DecodedToken",
    "MalformedToken",
    "decode_token",
]

MAX_TOKEN_CHARS = 64 * 1024  # the keyring's limit; a real JWT is a few hundred bytes
SEGMENT_NAMES = ("header", "payload", "signature")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_BEARER = re.compile(r"^(?:authorization\s*:\s*)?bearer(?:\s+|$)", re.IGNORECASE)
_QUOTES = ("\"'`")


class MalformedToken(InputError):
    """The input is not a compact JWS. ``kind`` is machine-readable (see :attr:`KINDS`)."""

    KINDS: ClassVar[frozenset[str]] = frozenset(
        {
            "empty",
            "too_large",
            "not_text",
            "segments",
            "jwe",
            "json_serialization",
            "empty_segment",
            "base64",
            "header_json",
            "header_not_object",
            "payload_json",
            "payload_not_object",
        }
    )

    def __init__(
        self, kind: str, message: str, *, segment: str | None = None, advice: str | None = None
    ) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown malformed kind {kind!r}")
        self.kind = kind
        self.segment = segment
        self.cleaned: tuple[str, ...] = ()
        super().__init__(
            message,
            advice=advice
            or "pass the raw compact JWS (header.payload.signature) without quotes or prefix",
        )


@dataclass(frozen=True)
class DecodedToken:
    """A structurally valid compact JWS, decoded but not verified."""

    token: str
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes
    cleaned: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def alg(self) -> Any:
        return self.header.get("alg")

    @property
    def kid(self) -> Any:
        return self.header.get("kid")


def decode_token(data: str | bytes) -> DecodedToken:
    """Decode ``data`` as a compact JWS; raise :class:`MalformedToken` saying exactly why not.

    A malformed token's ``cleaned`` still says what was stripped before it failed.
    """
    cleaned: list[str] = []
    try:
        return _decode(data, cleaned)
    except MalformedToken as exc:
        exc.cleaned = tuple(cleaned)
        raise


def _decode(data: str | bytes, cleaned: list[str]) -> DecodedToken:
    text = _clean(data, cleaned)
    parts = text.split(".")
    if len(parts) == 5:
        raise MalformedToken("jwe", _jwe_message(parts[0]),
                             advice="a JWE is encrypted, not signed: decrypt it with the "
                             "issuer's key, or ask the issuer for a signed JWS")
    if len(parts) != 3:
        hint = " (no dots: this is not a JWT; is it the secret or an opaque session id?)" if (
            len(parts) == 1
        ) else ""
        raise MalformedToken(
            "segments",
            f"expected 3 dot-separated segments (header.payload.signature), got "
            f"{len(parts)}{hint}",
            advice="copy the whole token; a truncated copy or an extra '.' changes the count",
        )
    notes: list[str] = []
    raw: list[bytes] = []
    for name, segment in zip(SEGMENT_NAMES, parts, strict=True):
        if not segment and name != "signature":
            raise MalformedToken("empty_segment", f"the {name} segment is empty", segment=name)
        decoded, note = _b64url(segment, name)
        raw.append(decoded)
        if note:
            notes.append(note)
    header = _json(raw[0], "header")
    if not isinstance(header, dict):
        raise MalformedToken(
            "header_not_object",
            f"header is JSON but a {_json_type(header)}, not an object",
            segment="header",
        )
    if "enc" in header:
        raise MalformedToken(
            "jwe", "header has 'enc': this is a JWE header on a 3-segment token",
            segment="header",
        )
    claims = _json(raw[1], "payload")
    if not isinstance(claims, dict):
        raise MalformedToken(
            "payload_not_object",
            f"payload is JSON but a {_json_type(claims)}, not a claims object",
            segment="payload",
        )
    if not parts[2]:
        notes.append("the signature segment is empty (an unsigned token)")
    return DecodedToken(
        token=text,
        header=header,
        claims=claims,
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=raw[2],
        cleaned=tuple(cleaned),
        notes=tuple(notes),
    )


def _clean(data: str | bytes, cleaned: list[str]) -> str:
    """Strip what people paste around tokens, appending what was stripped to ``cleaned``."""
    if isinstance(data, bytes):
        if len(data) > MAX_TOKEN_CHARS * 4:
            raise MalformedToken("too_large", f"input is {len(data)} bytes; tokens over 64 KiB "
                                 "are refused")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedToken(
                "not_text", f"input is not UTF-8 text (byte {exc.start})"
            ) from None
    text = data.strip()
    if len(text) > MAX_TOKEN_CHARS:
        raise MalformedToken(
            "too_large", f"input is {len(text)} characters; tokens over 64 KiB are refused"
        )
    # Each pass removes one wrapper; a handful covers `"Bearer eyJ..."` and `'"eyJ..."'`.
    for _ in range(4):
        before = text
        match = _BEARER.match(text)
        if match:
            cleaned.append(f"stripped the {match.group(0).strip()!r} prefix")
            text = text[match.end():].strip()
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0]:
            cleaned.append(f"stripped surrounding {text[0]} quotes")
            text = text[1:-1].strip()
        if text == before:
            break
    if not text:
        raise MalformedToken("empty", "input is empty" + (" after stripping" if cleaned else ""))
    if text.startswith("{"):
        raise MalformedToken(
            "json_serialization",
            "input is JSON, not a compact token (a JWS JSON serialization or a bare claims set)",
            advice="pass the compact form header.payload.signature",
        )
    for i, ch in enumerate(text):
        if ch.isspace():
            raise MalformedToken(
                "segments",
                f"whitespace inside the token at character {i + 1}: a line-wrapped or "
                "concatenated copy",
                advice="join the lines; a token has no spaces or newlines",
            )
    return text


def _b64url(segment: str, name: str) -> tuple[bytes, str | None]:
    note = None
    body = segment
    if body.endswith("="):
        stripped = body.rstrip("=")
        note = f"the {name} segment has '=' padding, which RFC 7515 base64url omits"
        body = stripped
    match = _B64URL.match(body)
    assert match is not None  # the pattern matches the empty prefix
    if match.end() != len(body):
        bad = body[match.end()]
        pos = match.end() + 1
        if bad in "+/":
            why = f"{bad!r} is standard base64, not base64url (which uses '-' and '_')"
        elif bad == "=":
            why = "'=' padding in the middle"
        else:
            why = f"{_printable(bad)} is not a base64url character"
        raise MalformedToken(
            "base64",
            f"the {name} segment is not valid base64url: {why} at character {pos}",
            segment=name,
            advice="re-encode with base64url without padding (RFC 7515 section 2)"
            if bad in "+/=" else None,
        )
    if len(body) % 4 == 1:
        raise MalformedToken(
            "base64",
            f"the {name} segment is not valid base64url: {len(body)} characters cannot be "
            "base64 (a truncated copy?)",
            segment=name,
        )
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), note
    except (binascii.Error, ValueError):  # pragma: no cover - excluded by the checks above
        raise MalformedToken(
            "base64", f"the {name} segment is not valid base64url", segment=name
        ) from None


def _json(raw: bytes, name: str) -> Any:
    kind = "header_json" if name == "header" else "payload_json"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedToken(
            kind, f"the {name} decodes to bytes that are not UTF-8 (byte {exc.start}), so not "
            "JSON: is this segment encrypted or compressed?", segment=name,
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedToken(
            kind, f"the {name} is not JSON: {exc.msg} at character {exc.pos + 1}", segment=name
        ) from None
    except (ValueError, RecursionError) as exc:
        # ValueError: integers past Python's digit limit; RecursionError: absurd nesting.
        why = "nested too deeply" if isinstance(exc, RecursionError) else "a number too large"
        raise MalformedToken(kind, f"the {name} is not usable JSON: {why}", segment=name) from None


def _jwe_message(first: str) -> str:
    detail = ""
    try:
        raw, _ = _b64url(first, "header")
        header = json.loads(raw)
        if isinstance(header, dict) and "enc" in header:
            detail = f" (enc {_short_repr(header.get('enc'))}, alg {_short_repr(header.get('alg'))})"
    except (MalformedToken, ValueError, RecursionError):
        pass
    return f"5 segments: this is a JWE, an encrypted token{detail}, not a signed JWS"


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _printable(ch: str) -> str:
    return repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"


def _short_repr(value: Any, limit: int = 24) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
