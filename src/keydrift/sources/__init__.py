"""Readers for the files ``keydrift check`` understands (one module per kind).

Each reader subclasses :class:`~keydrift.sources.interface.Source`; :func:`all_sources` finds
them, so adding a reader is adding a module. Readers report what files say; they never decide
what is wrong.
"""

from __future__ import annotations

from keydrift.sources.interface import ReadContext, Source, SourceResult, all_sources

__all__ = ["ReadContext", "Source", "SourceResult", "all_sources"]
