"""``keydrift explain``: decode a token without trusting it and find which secret signed it.

Data flows one way: :mod:`.decode` (untrusted parsing) and :mod:`.candidates` (values with
provenance; :func:`.candidates.read_model` is the one adapter to ``keydrift check``'s model)
feed :mod:`.variants` (delivery-path transformations), :mod:`.search` (prepared HMAC states,
the known-weak list) and :mod:`.jwks` (key sets); :mod:`.verdict` judges (with the resolver's
own strength policy); :mod:`.report` renders.
"""

from __future__ import annotations

from keydrift.explain.candidates import (
    Candidate,
    ModelView,
    ReaderVariant,
    ServiceKey,
    from_flags,
    from_model,
    from_process_env,
    read_model,
)
from keydrift.explain.claims import Expectations, Finding, TimeClaim, algorithms_arg, duration
from keydrift.explain.decode import DecodedToken, MalformedToken, decode_token
from keydrift.explain.report import SCHEMA_VERSION, render_text, to_json, to_json_text
from keydrift.explain.search import PreparedKeys, WeakHit, weak_secret_search
from keydrift.explain.variants import (
    VARIANT_KINDS,
    Derivation,
    Variant,
    variants_of,
)
from keydrift.explain.verdict import Explanation, Match, ServiceView, Verdict, explain

__all__ = [
    "SCHEMA_VERSION",
    "VARIANT_KINDS",
    "Candidate",
    "DecodedToken",
    "Derivation",
    "Expectations",
    "Explanation",
    "Finding",
    "MalformedToken",
    "Match",
    "ModelView",
    "PreparedKeys",
    "ReaderVariant",
    "ServiceKey",
    "ServiceView",
    "TimeClaim",
    "Variant",
    "Verdict",
    "WeakHit",
    "algorithms_arg",
    "decode_token",
    "duration",
    "explain",
    "from_flags",
    "from_model",
    "from_process_env",
    "read_model",
    "render_text",
    "to_json",
    "to_json_text",
    "variants_of",
    "weak_secret_search",
]
