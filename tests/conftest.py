"""Shared fixtures. A canary secret that must never appear in any output."""

from __future__ import annotations

import secrets

import pytest

# Unique per run so a hard-coded expectation cannot pass by accident.
CANARY = "kdcanary-" + secrets.token_urlsafe(40)


@pytest.fixture
def canary() -> str:
    return CANARY


@pytest.fixture
def strong_secret() -> str:
    return secrets.token_urlsafe(48)
