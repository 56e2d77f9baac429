"""keydrift: make JWT signing-secret drift impossible to ship and quick to diagnose.

Public API (stable names)::

    from keydrift import SecretSpec, resolve, Keyring, fingerprint, derive_fernet_key, \
        check_strength, KeydriftError, MissingSecretError, WeakSecretError, TokenRejected

Attributes are imported lazily so that ``import keydrift`` (and the CLI's ``--version``) stays
fast: PyJWT and cryptography load only when a keyring or key is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from keydrift._version import __version__

# `resolve` is both a submodule and the function it exports: bound eagerly, because importing
# the submodule later (any reader does) would otherwise replace the lazy attribute with the
# module. resolve.py imports neither PyJWT nor cryptography.
from keydrift.resolve import resolve

if TYPE_CHECKING:
    from keydrift.check import run_check
    from keydrift.errors import (
        InputError,
        KeydriftError,
        MissingSecretError,
        SecretConflictError,
        SecretEncodingError,
        SecretFileError,
        TokenRejected,
        UsageError,
        WeakSecretError,
    )
    from keydrift.keyring import Keyring
    from keydrift.keys import derive_fernet_key, fingerprint
    from keydrift.model.result import CheckResult
    from keydrift.secret import ResolvedSecret, SecretValue
    from keydrift.spec import DEFAULT_JWT_SPEC, SecretSpec
    from keydrift.strength import check_strength

_EXPORTS = {
    "SecretSpec": "keydrift.spec",
    "DEFAULT_JWT_SPEC": "keydrift.spec",
    "Keyring": "keydrift.keyring",
    "fingerprint": "keydrift.keys",
    "derive_fernet_key": "keydrift.keys",
    "check_strength": "keydrift.strength",
    "SecretValue": "keydrift.secret",
    "ResolvedSecret": "keydrift.secret",
    "KeydriftError": "keydrift.errors",
    "MissingSecretError": "keydrift.errors",
    "WeakSecretError": "keydrift.errors",
    "TokenRejected": "keydrift.errors",
    "SecretConflictError": "keydrift.errors",
    "SecretFileError": "keydrift.errors",
    "SecretEncodingError": "keydrift.errors",
    "InputError": "keydrift.errors",
    "UsageError": "keydrift.errors",
    "run_check": "keydrift.check",
    "CheckResult": "keydrift.model.result",
}

__all__ = [
    "DEFAULT_JWT_SPEC",
    "CheckResult",
    "InputError",
    "KeydriftError",
    "Keyring",
    "MissingSecretError",
    "ResolvedSecret",
    "SecretConflictError",
    "SecretEncodingError",
    "SecretFileError",
    "SecretSpec",
    "SecretValue",
    "TokenRejected",
    "UsageError",
    "WeakSecretError",
    "__version__",
    "check_strength",
    "derive_fernet_key",
    "fingerprint",
    "resolve",
    "run_check",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'keydrift' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
