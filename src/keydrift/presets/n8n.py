"""n8n: ``N8N_ENCRYPTION_KEY`` encrypts stored credentials; main and workers must share it."""

from __future__ import annotations

from keydrift.presets.interface import Preset
from keydrift.spec import SecretSpec


class N8n(Preset):
    id = "n8n"
    title = "n8n"
    spec = SecretSpec(name="n8n", variables=("N8N_ENCRYPTION_KEY",), previous_variables=())
    image_patterns = ("n8nio/n8n", "docker.n8n.io/n8nio/n8n")
    unset_behaviour = (
        "n8n generates a random encryption key on first start and saves it in ~/.n8n/config; "
        "main and worker containers that do not share that directory each get their own key, "
        "so workers cannot decrypt credentials"
    )
    must_share = True
    generates_when_unset = True
    docs_url = "https://docs.n8n.io/hosting/configuration/configuration-examples/encryption-key/"
