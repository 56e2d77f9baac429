"""Helpers shared by the readers of :mod:`keydrift.sources` (not readers themselves)."""
