"""Fixtures for runtime tests."""

from __future__ import annotations

import pytest

from keydrift.keyring import Keyring
from tests.runtime.runtime_helpers import SECRET_A, SECRET_B


@pytest.fixture
def keyring_a() -> Keyring:
    return Keyring.from_secrets(SECRET_A)


@pytest.fixture
def keyring_b() -> Keyring:
    return Keyring.from_secrets(SECRET_B)
