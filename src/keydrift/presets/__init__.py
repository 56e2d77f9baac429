"""App presets: what well-known apps do with their secret keys (one module per app).

See :mod:`keydrift.presets.interface`; adding a module with a :class:`Preset` subclass is all it
takes to add an app.
"""

from __future__ import annotations

from keydrift.presets.interface import (
    Preset,
    all_presets,
    normalize_image,
    preset_by_id,
    presets_for_image,
)

__all__ = ["Preset", "all_presets", "normalize_image", "preset_by_id", "presets_for_image"]
