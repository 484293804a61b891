"""Run the real Pulumi program under Pulumi's mocks: one stack, or the whole deployment.

Plain mocks hide mistakes a real deployment would hit (docs/pitfalls.md item 18), so these make up
for each one:

- the program never runs in preview, so every ``apply`` runs and no output stays unknown;
- ``id``, ``arn`` and ``name`` of every resource are filled, plausibly for its type and region;
- a second resource with an URN already taken fails the run, as the engine would;
- an asset or archive whose path does not exist fails the run;
- a StackReference resolves only to a stack simulated before it, with that stack's outputs,
  and fails otherwise, as it would against a real backend (pulumi/pulumi#3540);
- an invoke the mocks do not know fails, naming its token, instead of returning nothing.

Resource options (parent, dependsOn, ignoreChanges, provider, protect, retainOnDelete) are
recorded by a
monitor that wraps Pulumi's own mock monitor, so tests and the plan can show them.
"""

from __future__ import annotations

from ops.simulation.fake_aws import ACCOUNT_ID, PlanMocks
from ops.simulation.monitor import RecordingMonitor
from ops.simulation.results import (
    SECRET_MASK,
    DeploymentResult,
    Resource,
    SimulationError,
    StackResult,
    plain,
    unwrap_secrets,
)
from ops.simulation.runner import PROGRAM, simulate_deployment, simulate_stack

__all__ = [
    "ACCOUNT_ID",
    "PROGRAM",
    "SECRET_MASK",
    "DeploymentResult",
    "PlanMocks",
    "RecordingMonitor",
    "Resource",
    "SimulationError",
    "StackResult",
    "plain",
    "simulate_deployment",
    "simulate_stack",
    "unwrap_secrets",
]
