"""SARIF 2.1.0 report for code-scanning UIs (GitHub, GitLab, Azure DevOps).

Rule metadata comes from the rule classes; ``partialFingerprints`` carries the finding id so a
UI tracks one finding across commits; skipped files become tool execution notifications.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from keydrift._version import __version__
from keydrift.model.findings import Finding
from keydrift.model.result import CheckResult
from keydrift.model.types import Location
from keydrift.report._jsontext import indented

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"


def _artifact(loc: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": quote(loc.path), "uriBaseId": SRCROOT},
    }
    if loc.line:
        physical["region"] = {"startLine": loc.line}
    return {"physicalLocation": physical}


def _result(result: CheckResult, index: dict[str, int], f: Finding) -> dict[str, Any]:
    text = f.message
    if f.services:
        text += f" [services: {', '.join(f.services)}]"
    out: dict[str, Any] = {
        "ruleId": f.rule,
        "level": f.severity.value,
        "message": {"text": f"{text}. At run time: {f.runtime_effect} Fix: {f.fix}."},
        "locations": [_artifact(loc) for loc in f.locations[:1]],
        "partialFingerprints": {"keydriftFindingId/v1": f.finding_id},
        "properties": {
            "environment": f.environment,
            "services": list(f.services),
            "variable": f.variable,
            "fingerprints": list(f.fingerprints),
            "runtimeEffect": f.runtime_effect,
            "fix": f.fix,
        },
    }
    if f.rule in index:
        out["ruleIndex"] = index[f.rule]
    related = [
        {"id": i, **_artifact(loc)} for i, loc in enumerate(f.locations[1:], start=1)
    ]
    if related:
        out["relatedLocations"] = related
    return out


def document(result: CheckResult) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict."""
    rules = list(result.rules)
    index = {rule.id: i for i, rule in enumerate(rules)}
    root_uri = Path(os.path.abspath(result.root)).as_uri().rstrip("/") + "/"
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "keydrift",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/keydrift/keydrift",
                        "rules": [
                            {
                                "id": rule.id,
                                "name": rule.name,
                                "shortDescription": {"text": rule.title},
                                "fullDescription": {"text": rule.description},
                                "helpUri": rule.help_uri,
                                "help": {"text": f"See {rule.docs} in the keydrift repository."},
                                "defaultConfiguration": {"level": rule.default_severity.value},
                            }
                            for rule in rules
                        ],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": root_uri}},
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [
                            {
                                "level": "note",
                                "message": {"text": f"skipped: {s.reason}"},
                                "locations": [_artifact(s.location)],
                            }
                            for s in result.skipped
                        ],
                    }
                ],
                "results": [_result(result, index, f) for f in result.findings] + [
                    # SARIF's own way to carry a silenced result: kept, marked in-source.
                    {**_result(result, index, s.finding), "suppressions": [
                        {"kind": "inSource", "status": "accepted",
                         "location": _artifact(s.comment)}]}
                    for s in result.suppressed
                ],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def render(result: CheckResult, *, color: bool = False) -> str:
    return indented(document(result))
