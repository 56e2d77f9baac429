"""Put it together: decode, test candidates x variants, audit weak secrets, judge the claims.

:func:`explain` never prints and never raises for bad tokens: a malformed token is a verdict
(status ``malformed``). It raises only for usage errors in its own arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from keydrift.explain.candidates import Candidate, ModelView, ServiceKey, read_model
from keydrift.explain.claims import (
    Expectations,
    Finding,
    TimeClaim,
    check_claims,
    check_header,
)
from keydrift.explain.decode import DecodedToken, MalformedToken, decode_token
from keydrift.explain.jwks import JwksReport, JwksSet, check_jwks
from keydrift.explain.search import PreparedKeys, WeakHit, hmac_name, weak_secret_search
from keydrift.explain.variants import Derivation, Variant, variants_of
from keydrift.keys import is_public_key_material, oct_thumbprint, short

__all__ = [
    "Explanation",
    "KidReport",
    "Match",
    "Refusal",
    "ServiceView",
    "ValueGroup",
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
    refused: str | None = None  # placeholder | weak_secret: resolve() refuses its value there


@dataclass(frozen=True)
class Refusal:
    """The key that verifies the token is one ``resolve()`` refuses in the candidate's
    environment (:func:`keydrift.resolve.strength_policy`, the resolver's own decision)."""

    match: Match
    environment: str | None
    reason: str  # placeholder | weak_secret
    problem: str  # one line naming the problem, never the value


@dataclass(frozen=True)
class ValueGroup:
    """One distinct candidate value and every source that holds it."""

    fingerprint: str  # full RFC 7638 thumbprint of the value as written
    candidates: tuple[Candidate, ...]
    match: Match | None  # how this value verifies the token, if it does

    @property
    def role(self) -> str:
        roles = {c.role for c in self.candidates}
        return next((r for r in ("expected", "previous") if r in roles), "known")

    @property
    def headline(self) -> Candidate:
        return min(self.candidates, key=_source_rank)


@dataclass(frozen=True)
class Verdict:
    """The answer: ``status`` verified | rejected | malformed | decoded, with a reason and one
    sentence. ``also_in`` lists the other sources holding the headline source's value;
    ``rejected_by`` the services of the token's environment that hold a usable value and
    reject the token."""

    status: str
    reason: str | None
    summary: str
    severity: str  # ok | error | critical
    exit_code: int
    match: Match | None = None
    advice: str | None = None
    also_in: tuple[Candidate, ...] = ()
    rejected_by: tuple[ServiceView, ...] = ()

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
    environment: str | None = None  # the token's environment: --environment, or the signer's
    refusal: Refusal | None = None
    values: list[ValueGroup] = field(default_factory=list)
    jwks: JwksReport | None = None
    mode: str = "explain"  # explain | decode


def explain(
    token: str | bytes,
    candidates: Sequence[Candidate],
    *,
    expectations: Expectations | None = None,
    now: float,
    model: Any = None,
    weak_audit: bool = True,
    notes: Sequence[str] = (),
    decode_only: bool = False,
    jwks: Sequence[JwksSet] = (),
    derivations: Sequence[Derivation] | None = None,
) -> Explanation:
    """Explain ``token`` against ``candidates`` (and the services of ``model`` when given).

    ``model`` is ``keydrift check``'s model or its :class:`ModelView` (:func:`read_model`).
    ``decode_only``: header, claims, times and structural findings, no candidates (status
    ``decoded``, exit code 0 for a well-formed token). ``jwks``: key sets for asymmetric
    tokens, the verifier's current one first and older snapshots after it.
    """
    expect = expectations or Expectations()
    if decode_only:
        candidates = ()
    try:
        decoded = decode_token(token)
    except MalformedToken as exc:
        return Explanation(
            verdict=Verdict("malformed", "malformed", f"not a token: {exc.message}", "error", 2,
                            advice=exc.advice),
            now=now, expectations=expect, malformed=exc, candidates=list(candidates),
            notes=list(notes), mode="decode" if decode_only else "explain",
        )
    out = Explanation(
        verdict=Verdict("rejected", "signature", "", "error", 1),
        now=now, expectations=expect, decoded=decoded, candidates=list(candidates),
        notes=list(notes),
    )
    out.findings.extend(check_header(decoded.header, expect))
    out.times, claim_findings = check_claims(decoded.claims, expect, now)
    out.findings.extend(claim_findings)
    if decode_only:
        out.mode = "decode"
        alg = decoded.alg
        shown = _clip(alg) if alg is not None else "none given"
        out.verdict = Verdict(
            "decoded", None,
            f"a well-formed compact JWS (alg {shown}); decoded only: the signature was not "
            "checked", "ok", 0,
        )
        return out

    alg = decoded.alg
    hs = hmac_name(alg)
    tested: list[tuple[Candidate, Variant]] = []
    keys = PreparedKeys()
    for candidate in candidates:
        for variant in variants_of(candidate, derivations=derivations):
            keys.add(variant.key)
            tested.append((candidate, variant))
    out.variants_tested = len(tested)
    if hs is not None:
        ids = keys.matches(hs, decoded.signing_input, decoded.signature)
        out.matches = [Match(*tested[i]) for i in ids]
    elif isinstance(alg, str) and alg.lower() != "none":
        out.matches = _asymmetric_matches(decoded, candidates)
        if jwks:
            out.jwks = check_jwks(decoded.token, alg, decoded.kid, jwks[0], jwks[1:])
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
    best = _best(out.matches)
    out.environment = _token_environment(expect, best)
    if hs is not None and not confusion and out.weak is None:
        out.refusal = _refusal(out.matches, expect, out.findings)
    out.values = _values(out.candidates, out.matches)
    if model is not None:
        view = model if isinstance(model, ModelView) else read_model(model)
        out.services = _services(decoded, view.services, hs, expect, out.findings, out.weak)
    out.verdict = _judge(out, hs)
    return out


def _source_rank(c: Candidate) -> tuple[int, int, int, str]:
    # The headline source: never a template when a delivering source holds the same value,
    # then the expected secret, then one tied to a service (it says who uses it).
    return (1 if c.template else 0, 0 if c.expected else 1, 0 if c.service else 1, c.id)


def _values(candidates: Sequence[Candidate], matches: Sequence[Match]) -> list[ValueGroup]:
    """Candidates grouped by value (one line per distinct value in the report)."""
    by_fp: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_fp.setdefault(c.value.fingerprint, []).append(c)
    best_match: dict[str, Match] = {}
    for m in sorted(matches, key=_match_rank):
        best_match.setdefault(m.candidate.value.fingerprint, m)
    return [ValueGroup(fp, tuple(group), best_match.get(fp)) for fp, group in by_fp.items()]


def _token_environment(expect: Expectations, best: Match | None) -> str | None:
    from keydrift.spec import normalize_environment

    if expect.environment:
        return normalize_environment(expect.environment)
    return best.candidate.environment if best is not None else None


def _spec_named(name: str | None) -> Any:
    from keydrift.explain.candidates import known_specs
    from keydrift.spec import DEFAULT_JWT_SPEC

    if name is None:
        return DEFAULT_JWT_SPEC
    return next((s for s in known_specs() if s.name == name), DEFAULT_JWT_SPEC)


def _problem_text(report: Any) -> str:
    # The known-weak list is judged on its own (WeakHit); its index is never shown, since the
    # list ships with keydrift and the index would give the secret away.
    texts = [p.message for p in report.problems if p.code != "known_weak"]
    return "; ".join(texts) or "a publicly known weak secret"


def _refusal(
    matches: Sequence[Match], expect: Expectations, findings: list[Finding]
) -> Refusal | None:
    """Apply resolve()'s strength policy to every verifying candidate, in its environment.

    Refused anywhere: the token is rejected (a service using keydrift's resolver would not even
    start with that key). Weak but accepted (not production-like): a warning finding.
    """
    from keydrift.resolve import strength_policy

    warned = False
    for m in sorted(matches, key=_match_rank):
        environment = m.candidate.environment or expect.environment
        # The candidate's value as written is what resolve() would read and judge. Through a
        # variant, the signer's key must be refused too: a strong written value that a delivery
        # path shortens, or a `${VAR}` the signer's path interpolates away, is a delivery
        # problem that the signature verdict names, not a weak secret.
        spec = _spec_named(m.candidate.spec)
        policy = strength_policy(spec, environment, m.candidate.value)
        if policy is None or policy.report.ok:
            continue
        if m.variant.kind != "exact":
            signer = strength_policy(spec, environment, m.variant.key)
            if signer is None or signer.report.ok:
                continue
        codes = policy.report.codes
        if policy.refused:
            reason = "placeholder" if "placeholder" in codes else "weak_secret"
            return Refusal(m, environment, reason, _problem_text(policy.report))
        if not warned:
            warned = True
            where = f"environment {environment}" if environment else "no environment"
            findings.append(Finding(
                "weak_key", "warning",
                f"the key that verifies this token ({m.candidate.label}) is weak: "
                f"{_problem_text(policy.report)}; keydrift's resolver accepts it in {where} "
                "with a warning and refuses it in production-like environments",
                advice="replace it with `keydrift generate` before it reaches staging or "
                "production",
            ))
    return None


def _weak_among(matches: Sequence[Match]) -> WeakHit | None:
    from keydrift.secret import SecretValue
    from keydrift.strength import known_weak_lookup

    for m in matches:
        key = m.variant.key
        if not key:
            return WeakHit("empty", 0, SecretValue(b""))
        found = known_weak_lookup(key)
        if found is not None:
            return WeakHit(found[0], found[1], SecretValue(key))
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


def _match_rank(m: Match) -> tuple[int, int, int, int, str]:
    template, expected, service, ident = _source_rank(m.candidate)
    return (template, expected, 0 if m.variant.kind == "exact" else 1, service, ident)


def _best(matches: Sequence[Match]) -> Match | None:
    return min(matches, key=_match_rank) if matches else None


def _also_in(best: Match, matches: Sequence[Match]) -> tuple[Candidate, ...]:
    """The other places holding the headline's value (one per variable and place)."""
    key = best.candidate.value.fingerprint
    seen = {(best.candidate.variable, best.candidate.place)}
    out: list[Candidate] = []
    for m in sorted(matches, key=_match_rank):
        c = m.candidate
        if c.value.fingerprint != key or (c.variable, c.place) in seen:
            continue
        seen.add((c.variable, c.place))
        out.append(c)
    return tuple(out)


def _clip(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _relevant(out: Explanation) -> list[ServiceView] | None:
    """The service views of the token's environment (all of them when it is unknown)."""
    if out.services is None:
        return None
    env = out.environment
    return [v for v in out.services if env is None or v.environment in (env, None)]


def _judge(out: Explanation, hs: str | None) -> Verdict:
    attacks = [f for f in out.findings if f.reason == "attack"]
    best = _best(out.matches)
    also = _also_in(best, out.matches) if best is not None else ()
    if attacks:
        first = attacks[0]
        return Verdict("rejected", "attack", f"attack: {first.message}", "critical", 1,
                       match=best, advice=first.advice, also_in=also)
    if out.weak is not None:
        return Verdict(
            "rejected", "weak_secret",
            f"signed with a publicly known weak secret ({out.weak.description}): anyone can "
            "forge tokens for every service that accepts it",
            "critical", 1, match=best,
            advice="replace the secret everywhere with `keydrift generate`, then revoke "
            "sessions signed with the old one",
            also_in=also,
        )
    expected = [c for c in out.candidates if c.expected]
    algorithm = next((f for f in out.findings if f.reason == "algorithm"), None)
    malformed_hdr = next((f for f in out.findings if f.code == "alg_missing"), None)
    if malformed_hdr is not None:
        return Verdict("rejected", "malformed", malformed_hdr.message, "error", 1, match=best)
    if best is None and out.jwks is not None:
        return _jwks_verdict(out, algorithm)
    if best is None:
        return _no_match(out, hs, expected, algorithm)
    relevant = _relevant(out)
    if out.refusal is not None:
        return _refusal_verdict(out, relevant)
    absent = _no_service_note(out, relevant)
    trusted = best.candidate.expected or not expected
    if trusted and not expected and relevant and _every_service_rejects_signature(relevant):
        # Nothing was named as expected, but the repository says which keys its services hold:
        # a token that only a stray candidate verifies is one every service refuses.
        n = len(relevant)
        cand, variant = best.candidate, best.variant
        scope = f" (service {cand.service})" if cand.service else ""
        how = "" if variant.kind == "exact" else f" {variant.phrase}"
        where = f" of environment {out.environment}" if out.environment else ""
        return Verdict(
            "rejected", "signature",
            f"verifies only with {cand.label}{scope}{how}, a key no service verifies with: "
            f"all {n} service views{where} reject the signature",
            "error", 1, match=best, advice=_mismatch_advice(best), also_in=also,
            rejected_by=tuple(relevant),
        )
    if trusted and best.variant.kind == "exact":
        scope = f" ({best.candidate.scope})" if best.candidate.scope else ""
        signed = f"signed with {best.candidate.label}{scope}"
        if best.candidate.role == "previous":
            signed += " (the previous key: valid while the rotation lasts)"
        if algorithm is not None:
            return Verdict("rejected", "algorithm", f"{signed}, but {algorithm.message}",
                           "error", 1, match=best, advice=algorithm.advice, also_in=also)
        problem = _claims_problem(out.findings)
        if problem is not None:
            return Verdict("rejected", problem.reason, f"{signed}, but {problem.message}",
                           "error", 1, match=best, advice=problem.advice, also_in=also)
        return Verdict("verified", None, f"{signed}; claims are valid{absent}", "ok", 0,
                       match=best, also_in=also)
    return Verdict("rejected", "signature", _mismatch_sentence(best, expected), "error", 1,
                   match=best, advice=_mismatch_advice(best), also_in=also)


def _no_service_note(out: Explanation, relevant: Sequence[ServiceView] | None) -> str:
    """``; no known service in environment E`` (also added to the notes), or ``""``."""
    if not out.services or relevant or out.environment is None:
        return ""
    envs = sorted({v.environment for v in out.services if v.environment})
    note = (f"no known service in environment {out.environment}: the repository's services run "
            f"in {', '.join(envs) or 'no named environment'}, so none of them judges this token")
    if note not in out.notes:
        out.notes.append(note)
    return f"; no known service in environment {out.environment}"


def _holders(views: Sequence[ServiceView]) -> str:
    """``auth, backend (JWT_SECRET_STAGING at staging.env:3, 5kxp5wE4AcL6)`` per distinct value."""
    by_value: dict[tuple[str | None, str | None, str | None], list[str]] = {}
    for v in views:
        names = by_value.setdefault((v.variable, v.location, v.fingerprint), [])
        if v.service not in names:
            names.append(v.service)
    parts = []
    for (variable, location, fp), names in by_value.items():
        where = f"{variable} at {location}, {fp}" if location else f"{fp}"
        parts.append(f"{', '.join(sorted(names))} ({where})")
    return "; ".join(parts)


def _refusal_verdict(out: Explanation, relevant: Sequence[ServiceView] | None) -> Verdict:
    refusal = out.refusal
    assert refusal is not None
    m = refusal.match
    cand = m.candidate
    scope = f" ({cand.scope})" if cand.scope else ""
    how = "" if m.variant.kind == "exact" else f" {m.variant.phrase}"
    kind = "a placeholder" if refusal.reason == "placeholder" else "a weak secret"
    env = refusal.environment or "this environment"
    rejecting = tuple(
        v for v in relevant or ()
        if not v.accepts and v.refused is None and v.fingerprint is not None
        and v.reason in ("signature", "unknown_kid")
    )
    summary = (f"signed with {cand.label}{scope}{how}, {kind} that keydrift's resolver refuses "
               f"in {env} ({refusal.problem})")
    if rejecting:
        summary += f"; the services holding the real value reject it: {_holders(rejecting)}"
    place = cand.place
    if refusal.reason == "placeholder":
        advice = (f"put the real {env} secret in {place} (from the secret store), not a "
                  "placeholder; `keydrift check` reports it before deploy (KD301)")
    else:
        advice = (f"replace it in {place} with a strong secret (`keydrift generate`) shared by "
                  f"every service of {env}; `keydrift check` reports it before deploy (KD302)")
    return Verdict("rejected", refusal.reason, summary, "error", 1, match=m, advice=advice,
                   also_in=_also_in(m, out.matches), rejected_by=rejecting)


def _jwks_verdict(out: Explanation, algorithm: Finding | None) -> Verdict:
    report = out.jwks
    assert report is not None
    if report.status == "verified":
        signed = f"signed with {report.detail.removeprefix('verified with ')}"
        if algorithm is not None:
            return Verdict("rejected", "algorithm", f"{signed}, but {algorithm.message}",
                           "error", 1, advice=algorithm.advice)
        problem = _claims_problem(out.findings)
        if problem is not None:
            return Verdict("rejected", problem.reason, f"{signed}, but {problem.message}",
                           "error", 1, advice=problem.advice)
        return Verdict("verified", None, f"{signed}; claims are valid", "ok", 0)
    if report.status == "unknown_kid":
        if report.rotated_out is not None:
            advice = ("the key was removed from the key set while tokens signed with it are "
                      "still in use: keep a retired key published until every token it signed "
                      "has expired, and check that the signer has switched to the new key")
        else:
            advice = ("the verifier's key set lacks this kid: refresh a stale JWKS cache on the "
                      "verifier, or check that signer and verifier use the same issuer and "
                      "environment")
        return Verdict("rejected", "unknown_kid", report.detail, "error", 1, advice=advice)
    if report.status == "algorithm":
        return Verdict("rejected", "algorithm", report.detail, "error", 1,
                       advice="sign with the algorithm the key is published for, or publish "
                       "the key with the algorithm the signer uses")
    return Verdict("rejected", "signature", report.detail, "error", 1,
                   advice="compare the signer's key thumbprint with the key set's "
                   "(`keydrift fingerprint` prints RFC 7638 thumbprints)")


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
    decoded: DecodedToken, services: Sequence[ServiceKey], hs: str | None, expect: Expectations,
    findings: Sequence[Finding], weak: WeakHit | None = None,
) -> list[ServiceView]:
    """Whether each service of the model, per environment, would accept this token.

    A service accepts with its effective secret or, as keydrift's keyring does during a
    rotation, with the spec's previous key set for the same service.
    """
    problem = _claims_problem(findings)
    attack = next((f for f in findings if f.reason == "attack"), None)
    views: list[ServiceView] = []
    keys = PreparedKeys()
    slots: list[int | None] = []
    previous: list[list[tuple[str, int]]] = []
    for held in services:
        slots.append(keys.add(held.value.reveal()) if held.value else None)
        previous.append([(name, keys.add(value.reveal())) for name, value in held.previous])
    ok: set[int] = set(keys.matches(hs, decoded.signing_input, decoded.signature)) if hs else set()
    from keydrift.resolve import strength_policy

    for held, slot, rotation in zip(services, slots, previous, strict=True):
        value = held.value
        fp = short(value.fingerprint) if value else None
        refused: str | None = None
        if value:
            policy = strength_policy(held.spec, held.environment, value)
            if policy is not None and policy.refused:
                refused = "placeholder" if policy.report.has("placeholder") else "weak_secret"
        alg_ok = decoded.alg in (held.spec.algorithm,) or decoded.alg in expect.algorithms
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
            accepts, reason, detail = False, "algorithm", f"expects {held.spec.algorithm}"
        elif problem is not None:
            accepts, reason, detail = False, problem.reason, problem.message
        else:
            accepts, reason = True, None
            detail = (f"verifies it with its previous key {via_previous} (rotation)"
                      if slot not in ok else f"holds {fp}, which verifies it")
            if weak is not None:
                detail += "; a publicly known weak secret: anyone can forge tokens it accepts"
            elif refused is not None:
                what = "a placeholder" if refused == "placeholder" else "a weak secret"
                detail += (f"; {what} that keydrift's resolver refuses in "
                           f"{held.environment}")
        views.append(ServiceView(
            service=held.service, environment=held.environment, spec=held.spec.name,
            variable=held.variable, location=held.location, fingerprint=fp, accepts=accepts,
            reason=reason, detail=detail, refused=refused,
        ))
    return views
