"""Put it together: decode, test candidates x variants, audit weak secrets, judge the claims.

:func:`explain` never prints and never raises for bad tokens: a malformed token is a verdict
(status ``malformed``). It raises only for usage errors in its own arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from keydrift.explain.candidates import Candidate
from keydrift.explain.claims import (
    Expectations,
    Finding,
    TimeClaim,
    check_claims,
    check_header,
)
from keydrift.explain.decode import DecodedToken, MalformedToken, decode_token
from keydrift.explain.search import PreparedKeys, WeakHit, hmac_name, weak_secret_search
from keydrift.explain.variants import Variant, variants_of
from keydrift.keys import is_public_key_material, oct_thumbprint, short

__all__ = [
    "Explanation",
    "KidReport",
    "Match",
    "ServiceView",
    "Verdict",
    "explain",
]

# Claims problems in the order a verifier reports them (PyJWT checks exp, then iat/nbf, aud, iss).
_CLAIM_ORDER = ("malformed", "expired", "not_yet_valid", "audience", "issuer", "missing_claim")


@dataclass(frozen=True)
class Match:
    """``candidate`` transformed by ``variant`` verifies the token's signature."""

    candidate: Candidate
    variant: Variant

    @property
    def fingerprint(self) -> str:
        return oct_thumbprint(self.variant.key)


@dataclass(frozen=True)
class KidReport:
    """What the ``kid`` header names among the candidates."""

    status: str  # absent | matches | no_match | invalid
    kid: str | None
    matches: tuple[Match, ...] = ()


@dataclass(frozen=True)
class ServiceView:
    """Whether one service of the model, in one environment, accepts the token."""

    service: str
    environment: str | None
    spec: str
    variable: str | None
    location: str | None
    fingerprint: str | None
    accepts: bool
    reason: str | None  # rejection reason when it rejects
    detail: str


@dataclass(frozen=True)
class Verdict:
    """The answer: ``status`` verified | rejected | malformed, with a reason and one sentence."""

    status: str
    reason: str | None
    summary: str
    severity: str  # ok | error | critical
    exit_code: int
    match: Match | None = None
    advice: str | None = None

    @property
    def variant(self) -> str | None:
        return self.match.variant.kind if self.match else None

    @property
    def source(self) -> Candidate | None:
        return self.match.candidate if self.match else None


@dataclass
class Explanation:
    """Everything ``keydrift explain`` found about one token."""

    verdict: Verdict
    now: float
    expectations: Expectations
    decoded: DecodedToken | None = None
    malformed: MalformedToken | None = None
    times: list[TimeClaim] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    variants_tested: int = 0
    matches: list[Match] = field(default_factory=list)
    kid: KidReport = field(default_factory=lambda: KidReport("absent", None))
    weak: WeakHit | None = None
    services: list[ServiceView] | None = None
    notes: list[str] = field(default_factory=list)


def explain(
    token: str | bytes,
    candidates: Sequence[Candidate],
    *,
    expectations: Expectations | None = None,
    now: float,
    model: Any = None,
    weak_audit: bool = True,
    notes: Sequence[str] = (),
) -> Explanation:
    """Explain ``token`` against ``candidates`` (and the services of ``model`` when given)."""
    expect = expectations or Expectations()
    try:
        decoded = decode_token(token)
    except MalformedToken as exc:
        return Explanation(
            verdict=Verdict("malformed", "malformed", f"not a token: {exc.message}", "error", 2,
                            advice=exc.advice),
            now=now, expectations=expect, malformed=exc, candidates=list(candidates),
            notes=list(notes),
        )
    out = Explanation(
        verdict=Verdict("rejected", "signature", "", "error", 1),
        now=now, expectations=expect, decoded=decoded, candidates=list(candidates),
        notes=list(notes),
    )
    out.findings.extend(check_header(decoded.header, expect))
    out.times, claim_findings = check_claims(decoded.claims, expect, now)
    out.findings.extend(claim_findings)

    alg = decoded.alg
    hs = hmac_name(alg)
    tested: list[tuple[Candidate, Variant]] = []
    keys = PreparedKeys()
    for candidate in candidates:
        for variant in variants_of(candidate):
            keys.add(variant.key)
            tested.append((candidate, variant))
    out.variants_tested = len(tested)
    if hs is not None:
        ids = keys.matches(hs, decoded.signing_input, decoded.signature)
        out.matches = [Match(*tested[i]) for i in ids]
    elif isinstance(alg, str) and alg.lower() != "none":
        out.matches = _asymmetric_matches(decoded, candidates)
    out.kid = _kid_report(decoded, tested)
    out.findings.extend(_kid_findings(out.kid))
    if hs is not None and weak_audit:
        # A key that already verifies needs only a lookup; the full scan is for unknown signers.
        out.weak = _weak_among(out.matches)
        if out.weak is None and not out.matches:
            out.weak = weak_secret_search(hs, decoded.signing_input, decoded.signature)
    confusion = [
        m for m in out.matches
        if hs is not None and is_public_key_material(m.candidate.value.reveal())
    ]
    if confusion:
        m = confusion[0]
        out.findings.append(Finding(
            "key_confusion", "critical",
            f"an {hs} token signed with the public key {m.candidate.label} used as the HMAC "
            "secret: algorithm confusion, anyone holding the public key can forge tokens",
            reason="attack",
            advice="pin the algorithm on the verifier (RS256/ES256 only) and never pass a public "
            "key to an HMAC verifier",
        ))
    if model is not None:
        out.services = _services(decoded, model, hs, expect, out.findings, out.weak)
    out.verdict = _judge(out, hs)
    return out


def _weak_among(matches: Sequence[Match]) -> WeakHit | None:
    from keydrift.secret import SecretValue
    from keydrift.strength import known_weak_index, known_weak_match

    for m in matches:
        key = m.variant.key
        if not key:
            return WeakHit("empty", 0, SecretValue(b""))
        index = known_weak_index(key)
        if index is not None:
            return WeakHit("jwt-secrets", index, SecretValue(key))
        described = known_weak_match(key)
        if described is not None:
            words = described.split()
            line = int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
            return WeakHit("keydrift-extra", line, SecretValue(key))
    return None


def _asymmetric_matches(decoded: DecodedToken, candidates: Sequence[Candidate]) -> list[Match]:
    """For RS/ES/EdDSA tokens: verify with candidates that are public (or private) keys."""
    import jwt

    from keydrift.explain.variants import phrase
    from keydrift.keys import load_pem_key

    out: list[Match] = []
    for candidate in candidates:
        raw = candidate.value.reveal()
        if not is_public_key_material(raw):
            continue
        try:
            key: Any = load_pem_key(raw)
            public = getattr(key, "public_key", None)
            jwt.PyJWS().decode(
                decoded.token, key=public() if callable(public) else key,
                algorithms=[str(decoded.alg)],
            )
        except Exception:  # noqa: S112 - any failure means "this key does not verify"
            continue
        out.append(Match(candidate, Variant("exact", raw, phrase("exact"),
                                            "the signer holds this key pair")))
    return out


def _kid_report(decoded: DecodedToken, tested: Sequence[tuple[Candidate, Variant]]) -> KidReport:
    kid = decoded.kid
    if kid is None:
        return KidReport("absent", None)
    if not isinstance(kid, str) or not kid or len(kid) > 256 or not kid.isprintable():
        return KidReport("invalid", None)
    found: list[Match] = []
    for candidate, variant in tested:
        thumb = oct_thumbprint(variant.key)
        # keydrift's keyring names keys by full thumbprint; people also paste the short form.
        # A thumbprint is public (it is what `keydrift fingerprint` prints), so == is fine, and
        # compare_digest would raise on a non-ASCII kid (found by bench/fuzz_decode.py).
        if thumb == kid or (len(kid) >= 8 and thumb.startswith(kid)):
            found.append(Match(candidate, variant))
    return KidReport("matches" if found else "no_match", kid, tuple(found))


def _kid_findings(report: KidReport) -> list[Finding]:
    if report.status == "invalid":
        return [Finding("kid_invalid", "warning", "kid is not a plausible key id (not a short "
                        "printable string)")]
    if report.status == "no_match":
        return [Finding("kid_unknown", "info",
                        f"kid {short(report.kid or '')!r} is the thumbprint of none of the "
                        "candidates (or not a thumbprint at all)")]
    if report.status == "matches":
        m = report.matches[0]
        how = "" if m.variant.kind == "exact" else f" {m.variant.phrase}"
        return [Finding("kid_match", "info", f"kid names {m.candidate.label}{how}")]
    return []


def _claims_problem(findings: Sequence[Finding]) -> Finding | None:
    rejecting = [f for f in findings if f.reason in _CLAIM_ORDER and f.severity != "info"]
    rejecting.sort(key=lambda f: _CLAIM_ORDER.index(f.reason or ""))
    return rejecting[0] if rejecting else None


def _best(matches: Sequence[Match]) -> Match | None:
    def rank(m: Match) -> tuple[int, int]:
        return (0 if m.candidate.expected else 1, 0 if m.variant.kind == "exact" else 1)

    return min(matches, key=rank) if matches else None


def _judge(out: Explanation, hs: str | None) -> Verdict:
    attacks = [f for f in out.findings if f.reason == "attack"]
    best = _best(out.matches)
    if attacks:
        first = attacks[0]
        return Verdict("rejected", "attack", f"attack: {first.message}", "critical", 1,
                       match=best, advice=first.advice)
    if out.weak is not None:
        return Verdict(
            "rejected", "weak_secret",
            f"signed with a publicly known weak secret ({out.weak.description}): anyone can "
            "forge tokens for every service that accepts it",
            "critical", 1, match=best,
            advice="replace the secret everywhere with `keydrift generate`, then revoke "
            "sessions signed with the old one",
        )
    expected = [c for c in out.candidates if c.expected]
    algorithm = next((f for f in out.findings if f.reason == "algorithm"), None)
    malformed_hdr = next((f for f in out.findings if f.code == "alg_missing"), None)
    if malformed_hdr is not None:
        return Verdict("rejected", "malformed", malformed_hdr.message, "error", 1, match=best)
    if best is None:
        return _no_match(out, hs, expected, algorithm)
    trusted = best.candidate.expected or not expected
    if trusted and not expected and _every_service_rejects_signature(out.services):
        # Nothing was named as expected, but the repository says which keys its services hold:
        # a token that only a stray candidate verifies is one every service refuses.
        n = len(out.services or ())
        cand, variant = best.candidate, best.variant
        scope = f" (service {cand.service})" if cand.service else ""
        how = "" if variant.kind == "exact" else f" {variant.phrase}"
        return Verdict(
            "rejected", "signature",
            f"verifies only with {cand.label}{scope}{how}, a key no service verifies with: "
            f"all {n} service views reject the signature",
            "error", 1, match=best, advice=_mismatch_advice(best),
        )
    if trusted and best.variant.kind == "exact":
        scope = f" ({best.candidate.scope})" if best.candidate.scope else ""
        signed = f"signed with {best.candidate.label}{scope}"
        if best.candidate.role == "previous":
            signed += " (the previous key: valid while the rotation lasts)"
        if algorithm is not None:
            return Verdict("rejected", "algorithm", f"{signed}, but {algorithm.message}",
                           "error", 1, match=best, advice=algorithm.advice)
        problem = _claims_problem(out.findings)
        if problem is not None:
            return Verdict("rejected", problem.reason, f"{signed}, but {problem.message}",
                           "error", 1, match=best, advice=problem.advice)
        return Verdict("verified", None, f"{signed}; claims are valid", "ok", 0,
                       match=best)
    return Verdict("rejected", "signature", _mismatch_sentence(best, expected), "error", 1,
                   match=best, advice=_mismatch_advice(best))


def _every_service_rejects_signature(services: Sequence[ServiceView] | None) -> bool:
    return bool(services) and all(
        not v.accepts and v.reason in ("signature", "unknown_kid") for v in services or ()
    )


def _mismatch_sentence(best: Match, expected: Sequence[Candidate]) -> str:
    cand, variant = best.candidate, best.variant
    # The service matters to the reader; the environment is said where it explains the mismatch.
    scope = f" (service {cand.service})" if cand.service else ""
    if variant.kind != "exact":
        text = f"verifies with {cand.label}{scope} {variant.phrase}: {variant.cause}"
        if expected and not cand.expected:
            text += f"; the verifier expects {_names(expected)}"
        return text
    envs = {c.environment for c in expected if c.environment}
    if cand.environment and envs and cand.environment not in envs:
        why = (f"the signer uses the {cand.environment} secret where {', '.join(sorted(envs))} "
               "is expected")
    else:
        why = "the signer and the verifier are configured with different secrets"
    return f"verifies with {cand.label}{scope}, not with {_names(expected)}: {why}"


def _mismatch_advice(best: Match) -> str:
    if best.variant.kind == "exact":
        return ("give the signer and the verifier the same variable for this environment; "
                "`keydrift check` finds where they diverge")
    return ("make both delivery paths read the value the same way; `keydrift check` flags "
            "readers that disagree (KD501)")


def _names(candidates: Sequence[Candidate]) -> str:
    labels = [c.label for c in candidates[:3]]
    more = f" and {len(candidates) - 3} more" if len(candidates) > 3 else ""
    return "the expected secret " + ", ".join(labels) + more if labels else "any candidate"


def _no_match(
    out: Explanation, hs: str | None, expected: Sequence[Candidate], algorithm: Finding | None
) -> Verdict:
    assert out.decoded is not None
    alg = out.decoded.alg
    if algorithm is not None and hs is None:
        return Verdict("rejected", "algorithm", algorithm.message, "error", 1,
                       advice=algorithm.advice)
    if not out.candidates:
        return Verdict(
            "rejected", "signature",
            "no candidate secrets to test: the signature cannot be checked",
            "error", 1,
            advice="pass --secret-env NAME, --secret-file FILE or a PATH holding the "
            "configuration, or export the spec's variables (JWT_SECRET...)",
        )
    count = len(out.candidates)
    tested = (f"none of the {count} candidates ({out.variants_tested} variants tested)"
              if count > 1 else f"the candidate ({out.variants_tested} variants tested) never")
    if hs is None:
        return Verdict(
            "rejected", "signature",
            f"alg {alg!r} is asymmetric and no candidate public key verifies it",
            "error", 1, advice="pass the signer's public key with --secret-file KEY.pem",
        )
    if out.kid.status == "no_match":
        return Verdict(
            "rejected", "unknown_kid",
            f"{tested} verifies it, and its kid names none of them: signed with a key no "
            "source here holds (rotated out, another environment's or another issuer's)",
            "error", 1,
            advice="find the signer's key with `keydrift fingerprint` on the signer and compare "
            "it with the kid",
        )
    return Verdict(
        "rejected", "signature",
        f"{tested} verifies it: signed with a secret no source here holds",
        "error", 1,
        advice="run `keydrift fingerprint` on the signer, or pass the repository PATH so every "
        "environment's secrets are candidates",
    )


def _services(
    decoded: DecodedToken, model: Any, hs: str | None, expect: Expectations,
    findings: Sequence[Finding], weak: WeakHit | None = None,
) -> list[ServiceView]:
    """Whether each service of the model, per environment, would accept this token.

    A service accepts with its effective secret or, as keydrift's keyring does during a
    rotation, with the spec's previous key set for the same service.
    """
    problem = _claims_problem(findings)
    attack = next((f for f in findings if f.reason == "attack"), None)
    views: list[ServiceView] = []
    effective = list(getattr(model, "effective", ()))
    keys = PreparedKeys()
    slots: list[int | None] = []
    previous: list[list[tuple[str, int]]] = []
    for eff in effective:
        assignment = eff.assignment
        value = assignment.value if assignment is not None else None
        slots.append(keys.add(value.reveal()) if value else None)
        rotation: list[tuple[str, int]] = []
        service_env = getattr(eff.service, "env", {}) or {}
        for name in eff.spec.previous_for(eff.environment):
            prev = service_env.get(name)
            if prev is not None and prev.value:
                rotation.append((name, keys.add(prev.value.reveal())))
        previous.append(rotation)
    ok: set[int] = set(keys.matches(hs, decoded.signing_input, decoded.signature)) if hs else set()
    for eff, slot, rotation in zip(effective, slots, previous, strict=True):
        assignment = eff.assignment
        value = assignment.value if assignment is not None else None
        location = str(assignment.location) if assignment is not None else None
        fp = short(value.fingerprint) if value else None
        alg_ok = decoded.alg in (eff.spec.algorithm,) or decoded.alg in expect.algorithms
        via_previous = next((name for name, i in rotation if i in ok), None)
        verifies = slot is not None and (slot in ok or via_previous is not None)
        reason: str | None
        if slot is None:
            accepts, reason, detail = False, "signature", "no secret set in this environment"
        elif attack is not None:
            accepts, reason, detail = False, "attack", attack.message
        elif not verifies:
            accepts, reason, detail = False, "signature", f"holds {fp}, which does not verify it"
        elif not alg_ok:
            accepts, reason, detail = False, "algorithm", f"expects {eff.spec.algorithm}"
        elif problem is not None:
            accepts, reason, detail = False, problem.reason, problem.message
        else:
            accepts, reason = True, None
            detail = (f"verifies it with its previous key {via_previous} (rotation)"
                      if slot not in ok else f"holds {fp}, which verifies it")
            if weak is not None:
                detail += "; a publicly known weak secret: anyone can forge tokens it accepts"
        views.append(ServiceView(
            service=eff.service.name, environment=eff.environment, spec=eff.spec.name,
            variable=eff.variable, location=location, fingerprint=fp, accepts=accepts,
            reason=reason, detail=detail,
        ))
    return views
