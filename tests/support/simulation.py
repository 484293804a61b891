"""Fixtures that simulate stacks offline with the same machinery as `python -m ops plan`.

Registered for every suite by tests/conftest.py, so infra and policy tests share one simulated
deployment per session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops.build import build_archives
from ops.simulate import DeploymentResult, StackResult, simulate_deployment
from ops.stackfiles import read_stack_files
from tests.support.deployments import PROJECT_DIR, generated_configs, write_stack_files

Simulate = Callable[[dict[str, dict[str, Any]]], DeploymentResult]


@pytest.fixture(scope="session")
def lambda_archives() -> dict[str, Path]:
    """The archives the program references, built once as `ops plan` and `ops up` do first."""
    return build_archives()


@pytest.fixture(scope="session")
def example_deployment(lambda_archives: dict[str, Path]) -> DeploymentResult:
    """The project's three example stacks, simulated once for the whole session."""
    return simulate_deployment(read_stack_files(PROJECT_DIR))


@pytest.fixture
def simulate(tmp_path: Path, lambda_archives: dict[str, Path]) -> Simulate:
    """Simulate a deployment from stack configs (``{stack: {key: value}}``) written to disk."""

    def run(configs: dict[str, dict[str, Any]]) -> DeploymentResult:
        return simulate_deployment(read_stack_files(write_stack_files(tmp_path, configs)))

    return run


@pytest.fixture(scope="session")
def five_region_deployment(
    tmp_path_factory: pytest.TempPathFactory, lambda_archives: dict[str, Path]
) -> DeploymentResult:
    """A generated five-region full mesh, simulated once for the whole session."""
    directory = write_stack_files(tmp_path_factory.mktemp("five"), generated_configs(5))
    return simulate_deployment(read_stack_files(directory))


SimulateOne = Callable[[str, dict[str, dict[str, Any]]], StackResult]


@pytest.fixture
def simulate_one(simulate: Simulate) -> SimulateOne:
    """Simulate the stacks of ``configs`` in order and return the one named (its last pass)."""

    def run(name: str, configs: dict[str, dict[str, Any]]) -> StackResult:
        return simulate(configs).stacks[name]

    return run
