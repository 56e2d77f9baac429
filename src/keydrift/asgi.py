"""``keydrift.asgi.JWTAuthMiddleware``: the public name of the runtime middleware.

The code lives in :mod:`keydrift.runtime.asgi`; this module only re-exports it.
"""

from keydrift.runtime.asgi import (
    CLAIMS_KEY,
    DEFAULT_FINGERPRINT_PATH,
    SUBJECT_KEY,
    WS_BEARER_SUBPROTOCOL,
    JWTAuthMiddleware,
    claims_dependency,
    instance_id,
)

__all__ = [
    "CLAIMS_KEY",
    "DEFAULT_FINGERPRINT_PATH",
    "SUBJECT_KEY",
    "WS_BEARER_SUBPROTOCOL",
    "JWTAuthMiddleware",
    "claims_dependency",
    "instance_id",
]
