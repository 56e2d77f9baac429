"""The preset interface and its registry.

A preset knows one app's secret variables (as a :class:`~keydrift.spec.SecretSpec` named after
the preset id), what the app does when they are unset, whether every process must share them,
and the app's format rule. It is detected from container images. Each ``keydrift/presets/<app>.py``
defines one :class:`Preset` subclass; :func:`all_presets` discovers them, so adding an app needs
no change anywhere else.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

from keydrift.secret import SecretValue
from keydrift.spec import SecretSpec

__all__ = [
    "KeyStorage",
    "Preset",
    "all_presets",
    "normalize_image",
    "preset_by_id",
    "presets_for_image",
]

_DIGEST = re.compile(r"@sha256:[0-9a-f]+$", re.IGNORECASE)
_DEFAULT_REGISTRIES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


@cache
def _globs(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern matching what ``fnmatch.fnmatchcase`` matches for any of ``patterns``
    (each preset's class constants: compiled once, not tried one by one per image)."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or "(?!)")


def normalize_image(image: str) -> tuple[str, ...]:
    """Names an image reference can be matched by, without tag or digest, lower-cased.

    ``docker.n8n.io/n8nio/n8n:1.80`` gives ``("docker.n8n.io/n8nio/n8n", "n8nio/n8n")``;
    ``postgres`` gives ``("postgres", "library/postgres")``.
    """
    ref = _DIGEST.sub("", image.strip().lower())
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:  # a tag, not a registry port
        ref = ref[:colon]
    for prefix in _DEFAULT_REGISTRIES:
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
    names = [ref]
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        names.append(rest)  # mirrors and private registries keep the repository path
    if ref.startswith("library/"):
        names.append(ref[len("library/"):])
    elif "/" not in ref:
        names.append(f"library/{ref}")
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class KeyStorage:
    """Where an app writes the key it generates when the variable is unset.

    ``directory`` is the default location inside the container; ``setting`` names the variable
    that moves it (``N8N_USER_FOLDER``), and ``subdirectory`` what the app appends to that
    setting's value. The key survives restarts, and is shared, only where a persistent volume is
    mounted over it.
    """

    directory: str
    file: str
    setting: str | None = None
    subdirectory: str = ""
    written_once: bool = False
    """A one-off init step writes it before any other process starts (no race): processes that
    mount it from one volume share it."""

    def location(self, settings: Mapping[str, str]) -> str:
        """The directory holding the key for a service with these (non-secret) settings."""
        configured = settings.get(self.setting) if self.setting else None
        if configured:
            return posixpath.join(configured.rstrip("/"), self.subdirectory).rstrip("/") or "/"
        return self.directory.rstrip("/")


class Preset:
    """One app. Subclasses set the class data below and may override the hooks."""

    id: ClassVar[str]
    title: ClassVar[str]
    spec: ClassVar[SecretSpec]
    image_patterns: ClassVar[tuple[str, ...]]
    unset_behaviour: ClassVar[str]
    """What the app does when the secret is unset, as the end of "If it is unset, ..."."""
    must_share: ClassVar[bool] = True
    """All processes and components of the app must use the same secret."""
    generates_when_unset: ClassVar[bool] = False
    """Each process makes up its own key when unset (so several processes never agree)."""
    public_defaults: ClassVar[tuple[str, ...]] = ()
    """Values the app's own docs or code publish as defaults (never acceptable)."""
    variables_are_unique: ClassVar[bool] = True
    """The variable names belong to this app alone (``SECRET_KEY`` does not)."""
    format_hint: ClassVar[str] = ""
    """How to make a value in the app's format, when it has one."""
    docs_url: ClassVar[str]
    extra_specs: ClassVar[tuple[SecretSpec, ...]] = ()
    """More secrets of the app (static tokens it verifies, a second key)."""
    excluded_images: ClassVar[tuple[str, ...]] = ()
    """Images that match ``image_patterns`` but do not run the app (a static frontend)."""
    excluded_commands: ClassVar[tuple[str, ...]] = ()
    """Regexes of commands that run the app's image for something else (a queue monitor)."""
    unset_uses_public_default: ClassVar[bool] = False
    """When unset, the app runs with a public default (a problem in production, the documented
    development set-up elsewhere)."""
    key_storage: ClassVar[KeyStorage | None] = None
    """Where the app keeps the key it generates when unset (None: it keeps none)."""
    config_mount: ClassVar[str | None] = None
    """A directory every component mounts where a one-off init step writes the generated
    configuration (Airflow's ``config/``): processes mounting it from one volume share it."""

    derivation_cause: ClassVar[str] = ""
    """Why a verifier that reads the secret itself rejects the app's tokens (with the hook)."""

    def derive_signing_key(self, secret: SecretValue) -> bytes | None:
        """The JWT signing key the app derives from ``secret`` when it signs with a key it does
        not read directly (``None``: it signs with the secret itself). Key material: never
        print it."""
        return None

    @property
    def derives_signing_key(self) -> bool:
        return type(self).derive_signing_key is not Preset.derive_signing_key

    @property
    def variables(self) -> tuple[str, ...]:
        return self.spec.variables_for(None)

    def runs_app(self, names: tuple[str, ...], command: str | None) -> bool:
        """A service runs this app: its image (as :func:`normalize_image` names it, once for
        every preset) matches and its command is not excluded."""
        if not self.match_names(names):
            return False
        return not (command and any(re.search(p, command) for p in self.excluded_commands))

    def key_storage_for(self, spec: SecretSpec) -> KeyStorage | None:
        """Where the app keeps the key it generates for ``spec`` when unset."""
        return self.key_storage if spec == self.spec else None

    @property
    def specs(self) -> tuple[SecretSpec, ...]:
        return (self.spec, *self.extra_specs)

    def match_image(self, image: str | None) -> bool:
        """True when ``image`` (any tag, digest or registry mirror) runs this app."""
        if not image:
            return False
        return self.match_names(normalize_image(image))

    def match_names(self, names: tuple[str, ...]) -> bool:
        """:meth:`match_image` for the names :func:`normalize_image` gives."""
        if self.excluded_images and any(_globs(self.excluded_images).match(n) for n in names):
            return False
        return any(_globs(self.image_patterns).match(n) for n in names)

    def is_public_default(self, value: SecretValue) -> bool:
        return any(value.equals(d) for d in self.public_defaults)

    def format_rule(self, value: SecretValue) -> str | None:
        """Why ``value`` breaks the app's format (never quoting it), or ``None``.

        Public defaults are a strength problem (KD302), not a format one.
        """
        return None

    def __repr__(self) -> str:
        return f"<Preset {self.id}>"


@cache
def _registry() -> dict[str, Preset]:
    from keydrift._plugins import registry

    return registry("keydrift.presets", Preset, "presets", lambda p: p.id)


def all_presets() -> tuple[Preset, ...]:
    """Every preset in ``keydrift.presets``, one per module, sorted by id."""
    return tuple(_registry().values())


def preset_by_id(preset_id: str) -> Preset | None:
    """The preset with ``preset_id`` or ``None``."""
    return _registry().get(preset_id)


def presets_for_image(image: str | None) -> tuple[Preset, ...]:
    """The presets whose images match ``image``."""
    return tuple(p for p in all_presets() if p.match_image(image))
