"""The JSON Schema of ``keydrift explain --format json`` (version 2, documented in docs/explain.md
and published as docs/schema/explain-output-v2.json).

Additive changes (new optional members) keep the ``schema_version``; renaming or removing a
member, or changing a value's meaning, bumps it. Version 2 (from 1): ``weak_secret.entry`` is
present only with ``--show-weak-secret`` (the index of a list that ships with keydrift gives the
secret away); new ``verdict.reason`` ``placeholder`` and ``verdict.status`` ``decoded``; new
members ``mode``, ``environment``, ``verdict.also_in``, ``verdict.rejected_by``, ``values``,
``jwks``, ``services[].refused``, ``expectations.environment`` and the sources' ``template``.
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
    "unknown_kid", "missing_claim", "weak_secret", "placeholder", "attack",
]

_NULLABLE_STR = {"type": ["string", "null"]}
_SOURCE: dict[str, Any] = {
    "type": "object",
    "required": ["variable", "path", "line", "environment", "service", "origin", "role",
                 "label", "fingerprint", "template"],
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
        "template": {"type": "boolean"},
    },
}
_SERVICE: dict[str, Any] = {
    "type": "object",
    "required": ["service", "environment", "spec", "variable", "location", "fingerprint",
                 "accepts", "reason", "detail", "refused"],
    "properties": {"accepts": {"type": "boolean"},
                   "reason": {"enum": [*VERDICT_REASONS, None]},
                   "refused": {"enum": ["placeholder", "weak_secret", None]}},
}
_JWK: dict[str, Any] = {
    "type": "object",
    "required": ["kid", "kty", "alg", "use", "thumbprint"],
    "properties": {"kid": _NULLABLE_STR, "kty": {"type": "string"}, "alg": _NULLABLE_STR,
                   "use": _NULLABLE_STR,
                   "thumbprint": {"type": "string", "pattern": "^[A-Za-z0-9_-]{12}$"}},
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
    "$id": "https://keydrift.dev/schemas/explain-v2.json",
    "title": "keydrift explain report",
    "type": "object",
    "required": ["schema_version", "tool", "mode", "now", "environment", "verdict", "input",
                 "malformed", "token", "times", "expectations", "findings", "kid", "candidates",
                 "values", "variants_tested", "matches", "weak_secret", "jwks", "services",
                 "notes"],
    "properties": {
        "schema_version": {"const": 2},
        "tool": {"type": "object", "required": ["name", "version"]},
        "mode": {"enum": ["explain", "decode"]},
        "now": {"type": "string"},
        "environment": _NULLABLE_STR,
        "verdict": {
            "type": "object",
            "required": ["status", "reason", "summary", "severity", "exit_code", "variant",
                         "cause", "source", "also_in", "rejected_by"],
            "properties": {
                "status": {"enum": ["verified", "rejected", "malformed", "decoded"]},
                "reason": {"enum": [*VERDICT_REASONS, None]},
                "summary": {"type": "string"},
                "severity": {"enum": ["ok", "error", "critical"]},
                "exit_code": {"enum": [0, 1, 2]},
                "advice": _NULLABLE_STR,
                "variant": {"enum": [*VARIANTS, None]},
                "cause": _NULLABLE_STR,
                "source": {"oneOf": [{"type": "null"}, _SOURCE]},
                "also_in": {"type": "array", "items": _SOURCE},
                "rejected_by": {"type": "array", "items": _SERVICE},
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
            "required": ["audience", "issuer", "algorithms", "leeway", "environment"],
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
        "values": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["fingerprint", "role", "verifies", "variant", "headline", "sources"],
                "properties": {
                    "fingerprint": {"type": "string", "pattern": "^[A-Za-z0-9_-]{12}$"},
                    "role": {"enum": ["expected", "previous", "known"]},
                    "verifies": {"type": "boolean"},
                    "variant": {"enum": [*VARIANTS, None]},
                    "headline": {"type": "string"},
                    "sources": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "variants_tested": {"type": "integer", "minimum": 0},
        "matches": {"type": "array", "items": _MATCH},
        "weak_secret": {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "required": ["list", "description", "severity"],
                 "properties": {"list": {"enum": ["jwt-secrets", "keydrift-extra", "empty"]},
                                "entry": {"type": "integer"},
                                "secret": {"type": "string"}},
                 "dependentRequired": {"entry": ["secret"], "secret": ["entry"]}},
            ]
        },
        "jwks": {
            "oneOf": [
                {"type": "null"},
                {"type": "object",
                 "required": ["status", "kid", "detail", "key", "rotated_out_of",
                              "rotated_key_verifies", "sets"],
                 "properties": {
                     "status": {"enum": ["verified", "signature", "unknown_kid", "algorithm"]},
                     "kid": _NULLABLE_STR,
                     "detail": {"type": "string"},
                     "key": {"oneOf": [{"type": "null"}, _JWK]},
                     "rotated_out_of": _NULLABLE_STR,
                     "rotated_key_verifies": {"type": ["boolean", "null"]},
                     "sets": {"type": "array", "items": {
                         "type": "object", "required": ["source", "role", "keys", "skipped"],
                         "properties": {"source": {"type": "string"},
                                        "role": {"enum": ["current", "older"]},
                                        "keys": {"type": "array", "items": _JWK},
                                        "skipped": {"type": "integer", "minimum": 0}}}},
                 }},
            ]
        },
        "services": {"oneOf": [{"type": "null"}, {"type": "array", "items": _SERVICE}]},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}
