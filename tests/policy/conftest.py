"""The policy suite runs its rules over every stack of the example deployment."""

from __future__ import annotations

import pytest

from ops.simulate import DeploymentResult, StackResult


@pytest.fixture(params=["primary", "secondary", "secondary-ap"])
def stack(request: pytest.FixtureRequest, example_deployment: DeploymentResult) -> StackResult:
    """Each example stack in turn (the primary as of its converge pass)."""
    return example_deployment.stacks[request.param]
