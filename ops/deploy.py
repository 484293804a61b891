"""Deploy and destroy every stack in order, through the Pulumi Automation API.

The Automation API drives the Pulumi CLI, which this repository's CI machines do not have;
the order and the calls are tested against a recording workspace instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from components.settings import FIRST_PASS_ENV, qualified_name
from ops.stackfiles import DeploymentError, Pass, StackFile, deploy_order


class Workspace(Protocol):
    """What deploying needs from Pulumi: whether a stack exists, `up` and `destroy`."""

    def exists(self, stack: str) -> bool:
        """Whether the stack has been created in the backend."""

    def up(self, stack: str, *, skip_replicas: bool) -> None:
        """Deploy one stack; ``skip_replicas`` on the primary's first pass."""

    def destroy(self, stack: str) -> None:
        """Destroy one stack."""


def destroy_order(order: list[Pass]) -> list[str]:
    """Stacks to destroy: the reverse of the deploy order, each stack once.

    Secondaries go before the primary, so their Aurora clusters leave the global cluster
    before the primary's cluster is deleted (PITFALLS.md item 4).
    """
    first_deployed = list(dict.fromkeys(step.stack for step in order))
    return first_deployed[::-1]


def up(
    stacks: dict[str, StackFile], workspace: Workspace, build: Callable[[], object]
) -> list[Pass]:
    """Build the Lambda archives, then deploy every pass in order; returns the passes run.

    The primary's first pass skips replication only while a replica stack does not exist yet
    (a reference to it would fail). Once they all exist it keeps replication: skipping it on
    every deploy would remove the replication configuration until the converge pass, and
    objects written in between would never be replicated.
    """
    build()
    settings = {name: f.settings for name, f in stacks.items()}
    order = deploy_order(settings)
    passes = []
    for step in order:
        if step.skip_replicas:
            replicas = settings[step.stack].replica_stacks
            step = replace(step, skip_replicas=not all(workspace.exists(r) for r in replicas))
        workspace.up(step.stack, skip_replicas=step.skip_replicas)
        passes.append(step)
    return passes


def save_outputs(
    stacks: dict[str, StackFile], outputs: Callable[[str], dict[str, Any]], path: Path
) -> dict[str, dict[str, Any]]:
    """Write every stack's outputs to ``path``, for a failover that cannot reach the backend.

    A self-managed backend in the primary's region is gone with that region; this file, kept
    elsewhere, is all `ops failover --outputs` needs.
    """
    document = {name: outputs(name) for name in stacks}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return document


def destroy(stacks: dict[str, StackFile], workspace: Workspace) -> list[str]:
    """Destroy every stack in reverse deploy order; returns the stacks destroyed."""
    order = destroy_order(deploy_order({name: f.settings for name, f in stacks.items()}))
    for stack in order:
        workspace.destroy(stack)
    return order


@dataclass
class AutomationWorkspace:
    """The real thing: the Pulumi Automation API on the project directory."""

    directory: Path
    organization: str

    def _select(self, stack: str, env: dict[str, str], *, create: bool = False) -> Any:
        # Only `up` may create a stack: reading or destroying a missing one is an error, not
        # an empty new stack.
        from pulumi import automation as auto

        select = auto.create_or_select_stack if create else auto.select_stack
        try:
            return select(
                stack_name=qualified_name(stack, self.organization),
                work_dir=str(self.directory),
                opts=auto.LocalWorkspaceOptions(env_vars=env),
            )
        except auto.StackNotFoundError:
            raise DeploymentError(
                f"stack {qualified_name(stack, self.organization)} does not exist"
            ) from None

    def exists(self, stack: str) -> bool:
        """Whether the backend has the stack."""
        try:
            self._select(stack, {})
        except DeploymentError:
            return False
        return True

    def up(self, stack: str, *, skip_replicas: bool) -> None:
        """`pulumi up` on one stack, streaming its output."""
        env = {FIRST_PASS_ENV: "1"} if skip_replicas else {}
        self._select(stack, env, create=True).up(on_output=print)

    def destroy(self, stack: str) -> None:
        """`pulumi destroy` on one stack, streaming its output."""
        self._select(stack, {}).destroy(on_output=print)

    def outputs(self, stack: str) -> dict[str, Any]:
        """The outputs of one deployed stack."""
        return {k: v.value for k, v in self._select(stack, {}).outputs().items()}
