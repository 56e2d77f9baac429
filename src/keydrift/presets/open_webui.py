"""Open WebUI: ``WEBUI_SECRET_KEY`` signs the login JWTs."""

from __future__ import annotations

from keydrift.presets.interface import Preset
from keydrift.spec import SecretSpec


class OpenWebUI(Preset):
    id = "open_webui"
    title = "Open WebUI"
    spec = SecretSpec(name="open_webui", variables=("WEBUI_SECRET_KEY",), previous_variables=())
    image_patterns = ("ghcr.io/open-webui/open-webui", "open-webui/open-webui")
    unset_behaviour = (
        "Open WebUI's container start script generates a random key per container (stored in "
        "its data dir), so replicas reject each other's logins; outside Docker it falls back "
        "to a public default anyone can sign with"
    )
    must_share = True
    generates_when_unset = True
    public_defaults = ("t0p-s3cr3t",)
    docs_url = "https://docs.openwebui.com/getting-started/env-configuration/#webui_secret_key"
