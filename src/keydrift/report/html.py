"""HTML report: one self-contained file (inline CSS and JS, no network, works from ``file://``).

Rendered with Jinja2, autoescaping on: every string from the repository (paths, service and
variable names, messages) goes through it. The page shows the drift grid the pipeline computed
(:attr:`CheckResult.groups`), the findings with filters, and the counts; it computes nothing
about secrets. A Content-Security-Policy forbids every fetch, so even a crafted name cannot make
the page load anything.
"""

from __future__ import annotations

from typing import Any

import jinja2

from keydrift._version import __version__
from keydrift.model.findings import Finding, Severity
from keydrift.model.result import CheckResult, Marker

# Shown with the marker so it reads without colour; the words come from the marker names.
_MARKER_TEXT = {
    Marker.OK: "",
    Marker.MISSING: "missing",
    Marker.GENERATED: "generated per process",
    Marker.PLACEHOLDER: "placeholder",
    Marker.WEAK: "weak (no fingerprint)",
    Marker.UNRESOLVED: "set at deploy time",
}


def key_colour(letter: str) -> str:
    """A light background per key letter, hues spread by the golden angle so neighbours
    differ; the letter itself is always printed too."""
    n = 0
    for ch in letter:
        n = n * 26 + (ord(ch) - ord("A") + 1)
    hue = round((210 + (n - 1) * 137.508) % 360)
    return f"hsl({hue}, 70%, 82%)"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("keydrift.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _options(findings: list[Finding]) -> dict[str, list[str]]:
    return {
        "rule": sorted({f.rule for f in findings}),
        "severity": [s.value for s in Severity if any(f.severity is s for f in findings)],
        "environment": sorted({e for f in findings for e in f.environments}),
        "unit": sorted({f.unit for f in findings if f.unit}),
    }


def context(result: CheckResult) -> dict[str, Any]:
    """What the template needs, in display order."""
    findings = sorted(result.findings, key=Finding.sort_key)
    letters = sorted({c.key for g in result.groups for c in g.cells if c.key},
                     key=lambda k: (len(k), k))
    return {
        "result": result,
        "version": __version__,
        "findings": findings,
        "severities": [(s.value, result.count(s)) for s in Severity],
        "by_rule": result.by_rule(),
        "options": _options(findings),
        "colours": {k: key_colour(k) for k in letters},
        "marker_text": {m.value: t for m, t in _MARKER_TEXT.items()},
        "rule_info": {r.id: r for r in result.rules},
        "finding_index": {f.finding_id: i for i, f in enumerate(findings)},
    }


def render(result: CheckResult, *, color: bool = False) -> str:
    template = _environment().get_template("report.html")
    return template.render(context(result))
