"""The JSON Schema of ``keydrift explain --format json`` (version 1, documented in docs/explain.md).

Additive changes (new optional members) keep ``schema_version`` 1; renaming or removing a member,
or changing a value's meaning, bumps it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SCHEMA", "VARIANTS", "VERDICT_REASONS"]

VARIANTS = [
    "exact", "quotes_kept", "quotes_stripped", "trailing_newline", "whitespace",
    "base64_decoded", "base64_encoded", "hex_decoded", "interpolation_eaten", "preset_derived",
]
VERDICT_REASONS = [
    "signature", "expired", "not_yet_valid", "audience", "issuer", "algorithm", "malformed",
    "unknown_kid", "missing_claim", "weak_secret", "attack",
]

_NULLABLE_STR = {"type": ["string", "null"]}
_SOURCE: dict[str, Any] = {
    "type": "object",
    "required": ["variable", "path", "line", "environment", "service", "origin", "role",
                 "label", "fingerprint"],
    "properties": {
        "variable": _NULLABLE_STR,
        "path": _NULLABLE_STR,
        "line": {"type": ["integer", "null"]},
        "environment": _NULLABLE_STR,
        "service": _NULLABLE_STR,
        "origin": {"enum": ["env", "env_file", "flag_env", "flag_file", "repo"]},
        "role": {"enum": ["expected", "previous", "known"]},
        "label": {"type": "string"},
        "fingerprint": {"type": "string", "pattern": "^[A-Za-z0-9_-]{12}$"},
    },
}
_MATCH: dict[str, Any] = {
    "type": "object",
    "required": ["candidate", "source", "variant", "phrase", "cause", "fingerprint"],
    "properties": {
        "candidate": {"type": "string"},
        "source": _SOURCE,
        "variant": {"enum": VARIANTS},
        "phrase": {"type": "string"},
        "cause": {"type": "string"},
        "via": _NULLABLE_STR,
        "fingerprint": {"type": "string"},
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://keydrift.dev/schemas/explain-v1.json",
    "title": "keydrift explain report",
    "type": "object",
    "required": ["schema_version", "tool", "now", "verdict", "input", "malformed", "token",
                 "times", "expectations", "findings", "kid", "candidates", "variants_tested",
                 "matches", "weak_secret", "services", "notes"],
    "properties": {
        "schema_version": {"const": 1},
        "tool": {"type": "object", "required": ["name", "version"]},
        "now": {"type": "string"},
        "verdict": {
            "type": "object",
            "required": ["status", "reason", "summary", "severity", "exit_code", "variant",
                         "cause", "source"],
            "properties": {
                "status": {"enum": ["verified", "rejected", "malformed"]},
                "reason": {"enum": [*VERDICT_REASONS, None]},
                "summary": {"type": "string"},
                "severity": {"enum": ["ok", "error", "critical"]},
                "exit_code": {"enum": [0, 1, 2]},
                "advice": _NULLABLE_STR,
                "variant": {"enum": [*VARIANTS, None]},
                "cause": _NULLABLE_STR,
                "source": {"oneOf": [{"type": "null"}, _SOURCE]},
            },
        },
        "input": {
            "type": "object",
            "required": ["cleaned", "notes"],
            "properties": {
                "cleaned": {"type": "array", "items": {"type": "string"}},
                "notes": {"type": "array", "items": {"type": "string"}},
            },
        },
        "malformed": {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "required": ["kind", "segment", "message"],
                 "properties": {"kind": {"type": "string"},
                                "segment": {"enum": ["header", "payload", "signature", None]},
                                "message": {"type": "string"}}},
            ]
        },
        "token": {
            "oneOf": [
                {"type": "null"},
                {"type": "object",
                 "required": ["alg", "kid", "typ", "crit", "header", "claims",
                              "signature_bytes"],
                 "properties": {"header": {"type": "object"}, "claims": {"type": "object"},
                                "signature_bytes": {"type": "integer"}}},
            ]
        },
        "times": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["claim", "value", "iso", "relative", "status"],
                "properties": {
                    "claim": {"enum": ["exp", "nbf", "iat"]},
                    "value": {"type": ["number", "null"]},
                    "iso": _NULLABLE_STR,
                    "relative": {"type": "string"},
                    "status": {"enum": ["ok", "expired", "not_yet_valid", "future", "invalid"]},
                },
            },
        },
        "expectations": {
            "type": "object",
            "required": ["audience", "issuer", "algorithms", "leeway"],
        },
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "severity", "message", "reason", "advice"],
                "properties": {
                    "severity": {"enum": ["critical", "error", "warning", "info"]},
                    "reason": {"enum": [*VERDICT_REASONS, None]},
                },
            },
        },
        "kid": {
            "type": "object",
            "required": ["status", "value", "matches"],
            "properties": {
                "status": {"enum": ["absent", "matches", "no_match", "invalid"]},
                "value": _NULLABLE_STR,
                "matches": {"type": "array", "items": _MATCH},
            },
        },
        "candidates": {
            "type": "array",
            "items": {"allOf": [_SOURCE, {"type": "object", "required": ["id"]}]},
        },
        "variants_tested": {"type": "integer", "minimum": 0},
        "matches": {"type": "array", "items": _MATCH},
        "weak_secret": {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "required": ["list", "entry", "description", "severity"],
                 "properties": {"list": {"enum": ["jwt-secrets", "keydrift-extra", "empty"]},
                                "entry": {"type": "integer"},
                                "secret": {"type": "string"}}},
            ]
        },
        "services": {
            "oneOf": [
                {"type": "null"},
                {"type": "array", "items": {
                    "type": "object",
                    "required": ["service", "environment", "spec", "variable", "location",
                                 "fingerprint", "accepts", "reason", "detail"],
                    "properties": {"accepts": {"type": "boolean"},
                                   "reason": {"enum": [*VERDICT_REASONS, None]}},
                }},
            ]
        },
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}
