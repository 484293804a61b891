"""The file Synthetics loads (``python/canary_read.py`` in the canary's archive): its handler
string is ``canary_read.handler``; the journey is in :mod:`functions.canary.handler`."""

from functions.canary.handler import handler

__all__ = ["handler"]
