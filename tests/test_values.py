"""Value kinds: judged by the value first and the name second, in both directions."""

from __future__ import annotations

import secrets

import pytest

from keydrift.values import ValueKind, value_kind


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("JWT_EXP", "3600", ValueKind.NUMBER),
        ("GOTRUE_JWT_EXP", "3600", ValueKind.NUMBER),
        ("ENABLE_EMAIL_PASSWORD", "1", ValueKind.NUMBER),
        ("GOOGLE_CLIENT_SECRET", "0", ValueKind.NUMBER),
        ("MATRIXONE_PASSWORD", "123", ValueKind.NUMBER),
        ("SECRET_ENABLED", "true", ValueKind.BOOLEAN),
        ("TOKEN_REQUIRED", "False", ValueKind.BOOLEAN),
        ("JWT_TTL", "15m", ValueKind.DURATION),
        ("SESSION_SECRET_MAX_AGE", "1h30m", ValueKind.DURATION),
        ("TOKEN_CACHE", "512MiB", ValueKind.SIZE),
        ("JWT_ALGORITHM_SECRET", "HS256", ValueKind.ALGORITHM),
        ("TOKEN_URL_SECRET", "https://auth.example.com/token", ValueKind.URL),
        ("SECRET_KEY", "${key#SECRETS_}", ValueKind.EXPANSION),
        ("SECRET_VAR", "${!key}", ValueKind.EXPANSION),
        ("API_TOKEN", "$(cat /run/secrets/token)", ValueKind.EXPANSION),
        ("API_TOKEN", "api-token", ValueKind.IDENTIFIER),
        ("JWT_SECRET_MODULE", "keydrift.keys", ValueKind.IDENTIFIER),
        ("MAPBOX_API_KEY", "", ValueKind.EMPTY),
        ("MAPBOX_API_KEY", "  ", ValueKind.EMPTY),
        # ... and the other direction: these are secrets, whatever they look like
        ("DATABASE_URL", "postgres://app:s3cr3t@db/app", ValueKind.SECRET),
        ("JWT_SECRET", "Nk3vQ9xLp2RwT7yZc4Hb8Jm1Fd6Gs0Ue5", ValueKind.SECRET),
        ("JWT_SECRET", "your-jwt-secret", ValueKind.SECRET),
        ("JWT_SECRET", "changeme", ValueKind.SECRET),
        ("JWT_SECRET", "3600s3cr3t", ValueKind.SECRET),
        ("POSTGRES_PASSWORD", "postgres", ValueKind.SECRET),
        ("SECRET_KEY", "${SECRET_KEY}", ValueKind.SECRET),  # an unexpanded reference: KD301's
    ],
)
def test_value_kinds(name: str, value: str, kind: ValueKind) -> None:
    assert value_kind(value, name) is kind


def test_random_tokens_are_always_secrets() -> None:
    for _ in range(2000):
        for token in (secrets.token_urlsafe(24), secrets.token_hex(16), secrets.token_urlsafe(9)):
            assert value_kind(token, "JWT_SECRET") is ValueKind.SECRET, "a random token"
