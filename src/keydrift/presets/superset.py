"""Apache Superset: ``SUPERSET_SECRET_KEY`` signs sessions and encrypts stored passwords."""

from __future__ import annotations

from keydrift.presets.interface import Preset
from keydrift.spec import SecretKind, SecretSpec

# superset/config.py: GLOBAL_ASYNC_QUERIES_JWT_SECRET signs the async-query tokens that the
# separate websocket server (superset-websocket, Node) verifies with the jwtSecret of its
# config.json (superset-websocket/config.example.json; docs: "Async Queries via Celery").
ASYNC_QUERIES_SPEC = SecretSpec(
    name="superset-async-queries",
    variables=("GLOBAL_ASYNC_QUERIES_JWT_SECRET", "jwtSecret", "JWT_SECRET"),
    previous_variables=(),
    kind=SecretKind.SIGNING_KEY,
)


class Superset(Preset):
    id = "superset"
    title = "Apache Superset"
    spec = SecretSpec(
        name="superset",
        variables=("SUPERSET_SECRET_KEY",),
        previous_variables=(),
        kind=SecretKind.SESSION_KEY,
    )
    image_patterns = ("apache/superset", "apache/superset-*")
    # superset-websocket is a separate Node service with its own JSON config (jwtSecret).
    excluded_images = ("apache/superset-websocket",)
    unset_behaviour = (
        "Superset falls back to its public default SECRET_KEY and refuses to start outside "
        "debug mode"
    )
    must_share = True
    generates_when_unset = False
    unset_uses_public_default = True
    extra_specs = (ASYNC_QUERIES_SPEC,)
    # Published in superset/config.py and older docs; also in keydrift's known-weak list.
    public_defaults = (
        "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET",
        "thisISaSECRET_1234",
        "\\2\\1thisismyscretkey\\1\\2\\e\\y\\y\\h",
    )
    docs_url = "https://superset.apache.org/docs/configuration/configuring-superset/"
