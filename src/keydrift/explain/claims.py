"""Claims against expectations: times relative to now, ``aud``, ``iss``, ``alg`` and headers.

Checks follow PyJWT's semantics (what the keyring and most Python verifiers do), so "rejected
because expired" here means a real verifier with the same leeway rejects it too. Each problem is a
:class:`Finding` whose ``reason`` is the foundation's rejection vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from keydrift._format import duration
from keydrift.errors import TokenRejected
from keydrift.spec import HMAC_ALGORITHMS

__all__ = [
    "ATTACK_HEADERS",
    "Expectations",
    "Finding",
    "TimeClaim",
    "check_claims",
    "check_header",
    "duration",
]

# Headers that tell the verifier where to get the key: honouring them lets the sender choose it.
ATTACK_HEADERS = {
    "jwk": "an embedded 'jwk' key: a verifier that uses it accepts a key the sender chose",
    "jku": "a 'jku' key URL: a verifier that fetches it accepts keys from the sender's server",
    "x5u": "an 'x5u' certificate URL: a verifier that fetches it trusts the sender's certificate",
    "x5c": "an embedded 'x5c' certificate chain the sender chose",
}


@dataclass(frozen=True)
class Expectations:
    """What the verifier expects. ``None`` audience/issuer: not checked (as PyJWT does)."""

    audience: tuple[str, ...] = ()
    issuer: str | None = None
    algorithms: tuple[str, ...] = HMAC_ALGORITHMS
    leeway: int = 0
    environment: str | None = None  # the verifier's environment (``--environment``)


@dataclass(frozen=True)
class Finding:
    """One thing wrong (or worth saying). ``reason`` is the rejection reason when it rejects."""

    code: str
    severity: str  # critical | error | warning | info
    message: str
    reason: str | None = None
    advice: str | None = None


@dataclass(frozen=True)
class TimeClaim:
    """A time claim with its value and where it stands relative to now."""

    claim: str
    value: float | None
    iso: str | None
    relative: str
    status: str  # ok | expired | not_yet_valid | future | invalid


def _number(value: Any) -> float | None:
    # The keyring's rule, so explain and verification judge a time claim the same way.
    from keydrift.keyring import numeric_date

    return numeric_date(value)


def _iso(value: float) -> str | None:
    try:
        return datetime.fromtimestamp(value, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None


def check_claims(
    claims: dict[str, Any], expect: Expectations, now: float
) -> tuple[list[TimeClaim], list[Finding]]:
    """Times relative to ``now`` and the claim findings that would make a verifier reject."""
    times: list[TimeClaim] = []
    findings: list[Finding] = []
    lw = expect.leeway
    leeway_note = f" (leeway {lw}s)" if lw else ""
    for name in ("exp", "nbf", "iat"):
        if name not in claims:
            continue
        raw = claims[name]
        value = _number(raw)
        if value is None:
            times.append(TimeClaim(name, None, None, "not a number", "invalid"))
            findings.append(Finding(
                f"{name}_invalid", "error",
                f"'{name}' is not a NumericDate (RFC 7519: a finite JSON number, not a string), "
                "so keydrift's keyring rejects the token",
                reason="malformed", advice="the signer must write NumericDate seconds",
            ))
            continue
        delta = value - now
        iso = _iso(value)
        if name == "exp":
            if now > value + lw:
                rel, status = f"expired {duration(delta)} ago{leeway_note}", "expired"
                findings.append(Finding("expired", "error", rel, reason="expired",
                                        advice=TokenRejected.ADVICE["expired"]))
            elif now > value:
                rel, status = f"expired {duration(delta)} ago, within the leeway", "ok"
            else:
                rel, status = f"expires in {duration(delta)}", "ok"
        elif name == "nbf":
            if now < value - lw:
                rel, status = f"not valid for another {duration(delta)}", "not_yet_valid"
                findings.append(Finding("not_yet_valid", "error", rel, reason="not_yet_valid",
                                        advice=TokenRejected.ADVICE["not_yet_valid"]))
            else:
                rel, status = f"valid since {duration(delta)} ago", "ok"
        elif now < value - lw:
            rel = f"issued {duration(delta)} in the future: clock skew?"
            status = "future"
            findings.append(Finding("iat_future", "error", rel, reason="not_yet_valid",
                                    advice="the signer's clock is ahead: check NTP on the "
                                    "signer, or allow a leeway of a few seconds"))
        elif value > now:
            rel, status = f"issued {duration(delta)} in the future, within the leeway", "ok"
        else:
            rel, status = f"issued {duration(delta)} ago", "ok"
        times.append(TimeClaim(name, value, iso, rel, status))
    if "exp" not in claims:
        findings.append(Finding("no_exp", "warning",
                                "no 'exp' claim: the token never expires (keydrift's keyring "
                                "requires one)", advice="sign tokens with a short expiry"))
    if expect.audience:
        aud = claims.get("aud")
        actual = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else None
        if aud is None:
            findings.append(Finding("missing_aud", "error",
                                    f"no 'aud' claim; expected {_list(expect.audience)}",
                                    reason="missing_claim",
                                    advice="the signer must set the audience"))
        elif actual is None or not all(isinstance(a, str) for a in actual):
            findings.append(Finding("aud_invalid", "error", "'aud' is not a string or a list "
                                    "of strings", reason="malformed"))
        elif not set(actual) & set(expect.audience):
            findings.append(Finding(
                "audience", "error",
                f"aud {_list(actual)} does not include expected {_list(expect.audience)}",
                reason="audience", advice=TokenRejected.ADVICE["audience"],
            ))
    if expect.issuer is not None:
        iss = claims.get("iss")
        if iss is None:
            findings.append(Finding("missing_iss", "error",
                                    f"no 'iss' claim; expected {expect.issuer!r}",
                                    reason="missing_claim"))
        elif iss != expect.issuer:
            findings.append(Finding(
                "issuer", "error", f"iss {_clip(iss)} is not the expected {expect.issuer!r}",
                reason="issuer", advice=TokenRejected.ADVICE["issuer"],
            ))
    return times, findings


def check_header(header: dict[str, Any], expect: Expectations) -> list[Finding]:
    """``alg`` against the allowlist, ``alg: none`` and key-injecting headers as attacks."""
    findings: list[Finding] = []
    alg = header.get("alg")
    if isinstance(alg, str) and alg.strip().lower() == "none":
        findings.append(Finding(
            "alg_none", "critical",
            f"alg {alg!r}: an unsigned token; a verifier that accepts it lets anyone forge "
            "tokens",
            reason="attack",
            advice="never accept alg none; pin the algorithm list on every verifier",
        ))
    elif not isinstance(alg, str):
        findings.append(Finding("alg_missing", "error", "the header has no string 'alg'",
                                reason="malformed"))
    elif alg not in expect.algorithms:
        findings.append(Finding(
            "algorithm", "error",
            f"alg {_clip(alg)} is not in the allowed {_list(expect.algorithms)}",
            reason="algorithm", advice=TokenRejected.ADVICE["algorithm"],
        ))
    for name, why in ATTACK_HEADERS.items():
        if name in header:
            findings.append(Finding(
                f"header_{name}", "critical", f"injected header: {why}", reason="attack",
                advice="verifiers must use only their own configured keys and ignore "
                "jwk/jku/x5u/x5c from the token",
            ))
    crit = header.get("crit")
    if crit is not None:
        findings.append(Finding(
            "crit", "warning",
            f"crit {_clip(crit)}: verifiers that do not understand these extensions must "
            "reject the token",
        ))
    return findings


def _list(values: Sequence[Any]) -> str:
    return "[" + ", ".join(_clip(v) for v in values) + "]"


def _clip(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def algorithms_arg(values: Sequence[str]) -> tuple[str, ...]:
    """Split ``--algorithms HS256,HS512`` and repeated flags into one tuple."""
    out: list[str] = []
    for value in values:
        out.extend(a.strip() for a in value.split(",") if a.strip())
    return tuple(dict.fromkeys(out))
