"""Machine report: the versioned JSON document described in ``docs/json-schema.md``.

Its JSON Schema is ``docs/schema/check-output-v1.json``; ``schema_version`` changes only when a
field is removed or changes meaning (new fields may appear in version 1).
"""

from __future__ import annotations

from typing import Any

from keydrift._version import __version__
from keydrift.model.findings import Finding, Severity
from keydrift.model.result import CheckResult, SecretGroup
from keydrift.report._jsontext import indented

SCHEMA_VERSION = 1


def _finding(result: CheckResult, f: Finding) -> dict[str, Any]:
    rule = result.rule(f.rule)
    return {
        "id": f.finding_id,
        "rule": f.rule,
        "name": rule.name if rule else None,
        "severity": f.severity.value,
        "environment": f.environment,
        "environments": list(f.environments),
        "unit": f.unit,
        "services": list(f.services),
        "variable": f.variable,
        "locations": [{"path": loc.path, "line": loc.line} for loc in f.locations],
        "provenance": [
            {"path": s.location.path, "line": s.location.line, "note": s.note} for s in f.steps
        ],
        "message": f.message,
        "runtime_effect": f.runtime_effect,
        "fix": f.fix,
        "fingerprints": list(f.fingerprints),
        "help_uri": rule.help_uri if rule else None,
    }


def _group(g: SecretGroup) -> dict[str, Any]:
    return {
        "unit": g.unit,
        "label": g.label,
        "kind": g.kind,
        "environments": list(g.environments),
        "services": list(g.services),
        "cells": [
            {
                "service": c.service,
                "environment": c.environment,
                "marker": c.marker.value,
                "key": c.key,
                "fingerprint": c.label,
                "variable": c.variable,
                "processes": c.processes,
                "provenance": [{"path": s.location.path, "line": s.location.line, "note": s.note}
                               for s in c.steps],
                "findings": list(c.findings),
            }
            for c in g.cells
        ],
    }


def document(result: CheckResult) -> dict[str, Any]:
    """The report as a JSON-ready dict."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "keydrift", "version": __version__},
        "root": result.root,
        "environments": list(result.environments),
        "findings": [_finding(result, f) for f in result.findings],
        "groups": [_group(g) for g in result.groups],
        "suppressed": [
            {**_finding(result, s.finding),
             "suppressed_by": {"path": s.comment.path, "line": s.comment.line}}
            for s in result.suppressed
        ],
        "skipped": [
            {"path": s.location.path, "line": s.location.line, "reason": s.reason}
            for s in result.skipped
        ],
        "summary": {
            "files_checked": result.files_checked,
            "findings": len(result.findings),
            "error": result.count(Severity.ERROR),
            "warning": result.count(Severity.WARNING),
            "note": result.count(Severity.NOTE),
            "skipped": len(result.skipped),
            "baselined": result.baselined,
            "suppressed": len(result.suppressed),
            "by_rule": result.by_rule(),
        },
    }


def render(result: CheckResult, *, color: bool = False) -> str:
    return indented(document(result))
