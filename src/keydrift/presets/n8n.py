"""n8n: ``N8N_ENCRYPTION_KEY`` encrypts stored credentials; main and workers must share it."""

from __future__ import annotations

import hashlib

from keydrift.presets.interface import KeyStorage, Preset
from keydrift.secret import SecretValue
from keydrift.spec import SecretKind, SecretSpec


class N8n(Preset):
    id = "n8n"
    title = "n8n"
    spec = SecretSpec(
        name="n8n",
        variables=("N8N_ENCRYPTION_KEY",),
        previous_variables=(),
        kind=SecretKind.ENCRYPTION_KEY,
    )
    image_patterns = ("n8nio/n8n", "docker.n8n.io/n8nio/n8n")
    unset_behaviour = (
        "n8n generates a random encryption key on first start and saves it in ~/.n8n/config; "
        "main and worker containers that do not share that directory each get their own key, "
        "so workers cannot decrypt credentials"
    )
    must_share = True
    generates_when_unset = True
    docs_url = "https://docs.n8n.io/hosting/configuration/configuration-examples/encryption-key/"
    # n8n writes the generated key to <N8N_USER_FOLDER>/.n8n/config; the image's user folder
    # is /home/node (docs: hosting/configuration/environment-variables/deployment).
    key_storage = KeyStorage(
        directory="/home/node/.n8n", file="config", setting="N8N_USER_FOLDER", subdirectory=".n8n"
    )
    derivation_cause = (
        "n8n derives its JWT secret from N8N_ENCRYPTION_KEY (every other character, SHA-256, "
        "hex) when N8N_USER_MANAGEMENT_JWT_SECRET is unset: the signer and this verifier "
        "configure different variables"
    )

    def derive_signing_key(self, secret: SecretValue) -> bytes | None:
        # n8n (packages/cli, JwtService): without N8N_USER_MANAGEMENT_JWT_SECRET the JWT secret
        # is sha256(every other character of N8N_ENCRYPTION_KEY) as hex. JS indexes UTF-16 code
        # units; for the ASCII keys n8n generates that equals indexing the text.
        text = secret.reveal_text()
        return hashlib.sha256(text[::2].encode("utf-8")).hexdigest().encode("ascii")
