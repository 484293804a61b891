"""The policy suite runs its rules over every stack of the example deployment."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.simulate import DeploymentResult, StackResult, simulate_deployment
from ops.stackfiles import read_stack_files
from tests.support.deployments import generated_configs, write_stack_files


@pytest.fixture(params=["primary", "secondary", "secondary-ap"])
def stack(request: pytest.FixtureRequest, example_deployment: DeploymentResult) -> StackResult:
    """Each example stack in turn (the primary as of its converge pass)."""
    return example_deployment.stacks[request.param]


@pytest.fixture(scope="session")
def prod_deployment(
    tmp_path_factory: pytest.TempPathFactory, lambda_archives: dict[str, Path]
) -> DeploymentResult:
    """A primary and a secondary with ``environment: prod``, for the rules that differ there."""
    configs = generated_configs(2, environment="prod")
    return simulate_deployment(
        read_stack_files(write_stack_files(tmp_path_factory.mktemp("prod"), configs))
    )
