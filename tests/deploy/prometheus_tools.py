"""Finding Debian's prometheus binaries (promtool, prometheus) for the tests.

`.ci/run` installs the `prometheus` package; in CI (`CI` set) a missing binary fails the test
loudly instead of skipping it, so these tests can never silently stop running there.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    message = (f"{name} not found: install Debian's prometheus package "
               "(apt-get install prometheus; .ci/run does)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
