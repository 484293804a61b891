"""The file Synthetics loads for the write canary (``python/canary_write.py`` in the canary's
archive): its handler string is ``canary_write.handler``; the journey is in
:mod:`functions.canary.handler`."""

from functions.canary.handler import write_handler as handler

__all__ = ["handler"]
