"""Build the Lambda archives before a deploy."""

from __future__ import annotations


def build_archives() -> None:
    """Build every Lambda archive under ``build/`` (the packaging lands with WriteOrchestrator)."""
    raise NotImplementedError("Lambda packaging is not built yet: see the WriteOrchestrator issue")
