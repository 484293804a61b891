"""Infra tests simulate stacks; the fixtures live in tests/support/simulation.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.simulation import Simulate, SimulateOne

__all__ = ["Simulate", "SimulateOne"]


@pytest.fixture(autouse=True)
def _archives_built(lambda_archives: dict[str, Path]) -> None:
    """Every infra test may run the program, which references the Lambda archives."""
