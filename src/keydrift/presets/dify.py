"""Dify: ``SECRET_KEY`` signs sessions and login tokens of the API; its worker must share it."""

from __future__ import annotations

from keydrift.presets.interface import Preset
from keydrift.spec import SecretKind, SecretSpec


class Dify(Preset):
    id = "dify"
    title = "Dify"
    spec = SecretSpec(
        name="dify", variables=("SECRET_KEY",), previous_variables=(), kind=SecretKind.SESSION_KEY
    )
    # The worker runs the API image with MODE=worker; some deployments retag it.
    image_patterns = ("langgenius/dify-api", "langgenius/dify-worker")
    unset_behaviour = (
        "Dify's API and worker start without a usable signing key: logins and session cookies "
        "are signed with an empty key, and the API and worker cannot agree on encrypted data"
    )
    variables_are_unique = False
    must_share = True
    generates_when_unset = False
    # The value shipped in Dify's docker/.env.example; also in keydrift's known-weak list.
    public_defaults = ("sk-9f73s3ljTXVcMT3Blb3ljTqtsKiGHXVcMT3BlbkFJLK7U",)
    docs_url = "https://docs.dify.ai/getting-started/install-self-hosted/environments"
