"""Open WebUI: ``WEBUI_SECRET_KEY`` signs the login JWTs."""

from __future__ import annotations

from keydrift.presets.interface import KeyStorage, Preset
from keydrift.spec import SecretKind, SecretSpec


class OpenWebUI(Preset):
    id = "open_webui"
    title = "Open WebUI"
    spec = SecretSpec(
        name="open_webui",
        variables=("WEBUI_SECRET_KEY",),
        previous_variables=(),
        kind=SecretKind.SIGNING_KEY,
    )
    image_patterns = ("ghcr.io/open-webui/open-webui", "open-webui/open-webui")
    # backend/start.sh: without WEBUI_SECRET_KEY it writes 12 random bytes (base64) to
    # /app/backend/.webui_secret_key and exports them before uvicorn forks its workers. That
    # file is beside the backend, outside the /app/backend/data volume.
    unset_behaviour = (
        "Open WebUI's start script generates a random key into /app/backend/.webui_secret_key, "
        "outside the /app/backend/data volume, so every recreated container signs with a new "
        "key (all logins are lost) and replicas reject each other's logins; outside Docker it "
        "falls back to a public default anyone can sign with"
    )
    must_share = True
    generates_when_unset = True
    key_storage = KeyStorage(directory="/app/backend", file=".webui_secret_key")
    public_defaults = ("t0p-s3cr3t",)
    docs_url = "https://docs.openwebui.com/getting-started/env-configuration/#webui_secret_key"
