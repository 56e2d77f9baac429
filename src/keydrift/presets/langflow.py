"""Langflow: ``LANGFLOW_SECRET_KEY`` encrypts stored credentials and signs login tokens."""

from __future__ import annotations

import base64
import binascii

from keydrift.presets.interface import KeyStorage, Preset
from keydrift.secret import SecretValue
from keydrift.spec import SecretKind, SecretSpec


class Langflow(Preset):
    id = "langflow"
    title = "Langflow"
    spec = SecretSpec(
        name="langflow",
        variables=("LANGFLOW_SECRET_KEY",),
        previous_variables=(),
        kind=SecretKind.SIGNING_KEY,
    )
    # The backend images; langflowai/langflow-frontend is nginx serving static files.
    image_patterns = ("langflowai/langflow", "langflowai/langflow-*", "logspace/langflow")
    excluded_images = ("langflowai/langflow-frontend",)
    # The deploy stack runs Celery's Flower monitor from the backend image; it reads no key.
    excluded_commands = (r"\bcelery\b.*\bflower\b",)
    unset_behaviour = (
        "Langflow generates a random key in each container's config dir (unless that dir is "
        "a shared volume), so replicas reject each other's login tokens and cannot decrypt "
        "stored credentials"
    )
    must_share = True
    generates_when_unset = True
    # services/settings/auth.py: the generated key is written to CONFIG_DIR/secret_key; the
    # config dir is LANGFLOW_CONFIG_DIR, else the user cache dir (~/.cache/langflow).
    key_storage = KeyStorage(
        directory="/app/data/.cache/langflow", file="secret_key", setting="LANGFLOW_CONFIG_DIR"
    )
    format_hint = (
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    )
    docs_url = "https://docs.langflow.org/configuration-security-best-practices"

    def format_rule(self, value: SecretValue) -> str | None:
        # Langflow hands keys of 32+ characters to Fernet as they are (after re-adding base64
        # padding); shorter ones are stretched with a seeded PRNG instead.
        text = value.reveal_text()
        if len(text) < 32:
            return None
        try:
            decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) != 32:
            return (
                "a key of 32+ characters must be a Fernet key (urlsafe base64 of 32 bytes); "
                "Langflow fails to encrypt or decrypt with this one"
            )
        return None
