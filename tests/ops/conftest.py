"""Tests of the operator CLI (``ops``): plans, diffs, deploys, failover and the stack files.

The simulation fixtures live in tests/support/simulation.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _archives_built(lambda_archives: dict[str, Path]) -> None:
    """The commands run the program, which references the Lambda archives."""
