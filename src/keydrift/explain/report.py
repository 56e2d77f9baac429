"""Render an :class:`~keydrift.explain.verdict.Explanation` as text for people or versioned JSON.

Rendering never computes. Candidate values never appear: sources are named by variable, path,
line and short fingerprint. The only secret that may be printed is a known-weak list entry, and
only when the caller passes ``show_weak_secret`` (those values are public anyway). Token header and
claims are the caller's own input; they are shown JSON-escaped (``ensure_ascii``) so a hostile
token cannot put terminal control sequences on the screen.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from keydrift._format import printable, safe_line
from keydrift._version import __version__
from keydrift.explain.candidates import Candidate
from keydrift.explain.verdict import Explanation, Match, ServiceView
from keydrift.keys import short

__all__ = ["SCHEMA_VERSION", "render_text", "to_json", "to_json_text"]

SCHEMA_VERSION = 2
_MAX_DEPTH = 12
_MAX_TEXT = 2000


def _safe(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy of attacker-controlled data (finite numbers, bounded depth)."""
    if depth > _MAX_DEPTH:
        return "<nested too deeply>"
    if isinstance(value, dict):
        return {str(k): _safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _iso(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(ts)


def _source(candidate: Candidate) -> dict[str, Any]:
    return {
        "variable": candidate.variable,
        "path": candidate.path,
        "line": candidate.line,
        "environment": candidate.environment,
        "service": candidate.service,
        "origin": candidate.origin,
        "role": candidate.role,
        "label": candidate.label,
        "fingerprint": candidate.value.short_fingerprint,
        "template": candidate.template,
    }


def _match(m: Match) -> dict[str, Any]:
    return {
        "candidate": m.candidate.id,
        "source": _source(m.candidate),
        "variant": m.variant.kind,
        "phrase": m.variant.phrase,
        "cause": m.variant.cause,
        "via": m.variant.via,
        "fingerprint": short(m.fingerprint),
    }


def _service(s: ServiceView) -> dict[str, Any]:
    return {"service": s.service, "environment": s.environment, "spec": s.spec,
            "variable": s.variable, "location": s.location, "fingerprint": s.fingerprint,
            "accepts": s.accepts, "reason": s.reason, "detail": s.detail, "refused": s.refused}


def to_json(e: Explanation, *, show_weak_secret: bool = False) -> dict[str, Any]:
    """The documented JSON document (``docs/explain.md``, schema version 2)."""
    v = e.verdict
    m = v.match
    decoded = e.decoded
    token: dict[str, Any] | None = None
    if decoded is not None:
        header = decoded.header
        token = {
            "alg": _safe(header.get("alg")),
            "kid": _safe(header.get("kid")),
            "typ": _safe(header.get("typ")),
            "crit": _safe(header.get("crit")),
            "header": _safe(header),
            "claims": _safe(decoded.claims),
            "signature_bytes": len(decoded.signature),
        }
    weak: dict[str, Any] | None = None
    if e.weak is not None:
        weak = {
            "list": e.weak.list_name,
            "description": e.weak.description,
            "severity": "critical",
        }
        if show_weak_secret:
            # The entry number is as good as the secret (the list ships with keydrift): both
            # only when asked for.
            weak["entry"] = e.weak.entry
            weak["secret"] = e.weak.secret.reveal_text()
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "keydrift", "version": __version__},
        "mode": e.mode,
        "now": _iso(e.now),
        "environment": e.environment,
        "verdict": {
            "status": v.status,
            "reason": v.reason,
            "summary": v.summary,
            "severity": v.severity,
            "exit_code": v.exit_code,
            "advice": v.advice,
            "variant": m.variant.kind if m else None,
            "cause": m.variant.cause if m else None,
            "source": _source(m.candidate) if m else None,
            "also_in": [_source(c) for c in v.also_in],
            "rejected_by": [_service(s) for s in v.rejected_by],
        },
        "input": {
            "cleaned": list(decoded.cleaned) if decoded else (
                list(e.malformed.cleaned) if e.malformed is not None else []),
            "notes": list(decoded.notes) if decoded else [],
        },
        "malformed": (
            {"kind": e.malformed.kind, "segment": e.malformed.segment,
             "message": e.malformed.message}
            if e.malformed is not None else None
        ),
        "token": token,
        "times": [
            {"claim": t.claim, "value": t.value, "iso": t.iso, "relative": t.relative,
             "status": t.status}
            for t in e.times
        ],
        "expectations": {
            "audience": list(e.expectations.audience),
            "issuer": e.expectations.issuer,
            "algorithms": list(e.expectations.algorithms),
            "leeway": e.expectations.leeway,
            "environment": e.expectations.environment,
        },
        "findings": [
            {"code": f.code, "severity": f.severity, "message": f.message, "reason": f.reason,
             "advice": f.advice}
            for f in e.findings
        ],
        "kid": {
            "status": e.kid.status,
            "value": e.kid.kid,
            "matches": [_match(km) for km in e.kid.matches],
        },
        "candidates": [
            {"id": c.id, **_source(c)} for c in e.candidates
        ],
        "values": [
            {"fingerprint": short(g.fingerprint), "role": g.role,
             "verifies": g.match is not None,
             "variant": g.match.variant.kind if g.match else None,
             "headline": g.headline.id,
             "sources": [c.id for c in g.candidates]}
            for g in e.values
        ],
        "variants_tested": e.variants_tested,
        "matches": [_match(x) for x in e.matches],
        "weak_secret": weak,
        "jwks": e.jwks.to_dict() if e.jwks is not None else None,
        "services": (
            None if e.services is None else [_service(s) for s in e.services]
        ),
        "notes": list(e.notes),
    }


def to_json_text(e: Explanation, *, show_weak_secret: bool = False) -> str:
    return json.dumps(to_json(e, show_weak_secret=show_weak_secret), indent=2,
                      ensure_ascii=True, allow_nan=False)


def _compact(value: Any) -> str:
    text = json.dumps(_safe(value), ensure_ascii=True, separators=(", ", ": "))
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def _places(candidates: Sequence[Candidate]) -> str:
    """Every source of one value, merged by place: ``X from a.env:3 [services api, web;
    environment staging]; X from .env.example:4 (template) [environment staging]``."""
    merged: dict[str, tuple[list[str], list[str]]] = {}
    for c in sorted(candidates, key=_headline_first):
        services, envs = merged.setdefault(c.label, ([], []))
        if c.service and c.service not in services:
            services.append(c.service)
        if c.environment and c.environment not in envs:
            envs.append(c.environment)
    parts = []
    for label, (services, envs) in merged.items():
        scope = []
        if services:
            scope.append(("service " if len(services) == 1 else "services ") + ", ".join(services))
        if envs:
            scope.append(("environment " if len(envs) == 1 else "environments ")
                         + ", ".join(envs))
        parts.append(label + (f" [{'; '.join(scope)}]" if scope else ""))
    return "; ".join(parts)


def _headline_first(c: Candidate) -> tuple[int, int, int, str]:
    return (1 if c.template else 0, 0 if c.expected else 1, 0 if c.service else 1, c.id)


_LABELS = {"verified": "VERIFIED", "rejected": "REJECTED", "malformed": "MALFORMED",
           "decoded": "DECODED"}


def render_text(e: Explanation, *, show_weak_secret: bool = False) -> str:
    """The human report: verdict first, then the evidence.

    Every line is escaped (:func:`keydrift._format.printable`): file names, variables, kids
    and key set labels come from outside and must not forge report lines or retitle the
    terminal.
    """
    lines: list[str] = []
    v = e.verdict
    reason = f" ({v.reason})" if v.reason else ""
    lines.append(f"{_LABELS[v.status]}{reason}: {v.summary}")
    if v.advice and v.status != "verified":
        lines.append(f"  advice: {v.advice}")
    if v.also_in:
        lines.append(f"  also in: {_places(v.also_in)}")
    if e.malformed is not None:
        where = f" (segment: {e.malformed.segment})" if e.malformed.segment else ""
        lines.append(f"  kind: {e.malformed.kind}{where}")
        for note in e.malformed.cleaned:
            lines.append(f"  input: {note}")
    d = e.decoded
    if d is not None:
        lines.append("")
        for note in d.cleaned:
            lines.append(f"input     {note}")
        for note in d.notes:
            lines.append(f"note      {note}")
        lines.append(f"header    {_compact(d.header)}")
        lines.append(f"claims    {_compact(d.claims)}")
        lines.append(f"now       {_iso(e.now)}")
        for t in e.times:
            when = t.iso or "?"
            lines.append(f"{t.claim:<9} {when}  {t.relative}")
    if e.findings:
        lines.append("")
        lines.append("findings")
        order = {"critical": 0, "error": 1, "warning": 2, "info": 3}
        for f in sorted(e.findings, key=lambda f: order.get(f.severity, 9)):
            lines.append(f"  {f.severity:<9} {f.message}")
    if e.weak is not None:
        lines.append("")
        lines.append(f"weak secret  CRITICAL: {e.weak.description}; anyone can forge tokens")
        if show_weak_secret:
            lines.append(f"  secret: {json.dumps(e.weak.secret.reveal_text(), ensure_ascii=True)}")
        else:
            lines.append("  (pass --show-weak-secret to print it: it is public)")
    if e.jwks is not None:
        lines.extend(_jwks_lines(e))
    if d is not None and e.mode != "decode":
        lines.append("")
        n_values = len(e.values)
        lines.append(f"candidates ({n_values} distinct value{'s' if n_values != 1 else ''} in "
                     f"{len(e.candidates)} source{'s' if len(e.candidates) != 1 else ''}, "
                     f"{e.variants_tested} variants tested)")
        for g in e.values:
            hit = g.match
            mark = ("verifies " + ("as it is" if hit.variant.kind == "exact" else
                                   hit.variant.phrase)) if hit else "no"
            lines.append(f"  {short(g.fingerprint)}  {g.role:<8}  {mark}: "
                         f"{_places(g.candidates)}")
        if not e.candidates:
            lines.append("  none: pass --secret-env, --secret-file or a PATH")
    if e.services is not None:
        lines.append("")
        lines.append("services")
        by_env: dict[str, list[ServiceView]] = {}
        for s in e.services:
            by_env.setdefault(s.environment or "(any environment)", []).append(s)
        for env in sorted(by_env):
            mark = "  (the token's environment)" if env == e.environment else ""
            lines.append(f"  {env}{mark}")
            for s in by_env[env]:
                verdict = "accepts" if s.accepts else f"rejects ({s.reason})"
                where = f" {s.variable} at {s.location}" if s.location else ""
                lines.append(f"    {s.service:<20} {verdict:<24}{where}: {s.detail}")
        if not e.services:
            lines.append("  the model found no services")
    for note in e.notes:
        lines.append(f"note: {note}")
    return "".join(safe_line(printable(line)) + "\n" for line in lines)


def _jwks_lines(e: Explanation) -> list[str]:
    report = e.jwks
    assert report is not None
    lines = ["", "jwks"]
    for i, keyset in enumerate((report.current, *report.older)):
        role = "current" if i == 0 else "older"
        keys = ", ".join(
            f"{'kid ' + repr(k.kid) + ' ' if k.kid else ''}{k.kty} {short(k.thumbprint)}"
            for k in keyset.keys[:8]
        )
        more = f" and {len(keyset.keys) - 8} more" if len(keyset.keys) > 8 else ""
        lines.append(f"  {role:<8} {keyset.label}: {len(keyset.keys)} key(s): {keys}{more}")
    lines.append(f"  result   {report.status}: {report.detail}")
    return lines
