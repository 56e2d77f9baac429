"""Small formatting helpers shared by the library, explain and the reports."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """``10922`` -> ``3h02m``; ``40`` -> ``40s``; ``150`` -> ``2m30s``; ``200000`` -> ``2d07h``."""
    total = int(abs(seconds))
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{mins:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"
