"""A Pulumi backend made of simulated stacks, for walking a deployment through its life.

``SimulatedWorkspace`` is the ``ops.deploy.Workspace`` that `ops up`, `ops destroy` and
`ops remove-region` drive, with each stack's state held here: ``preview`` runs the real
program for one pass under the mocks and compares it, by URN, with the stack's state; ``up``
stores it. ``destroy`` fails on protected resources, as Pulumi does. Tests may change a
stack's state the way AWS would (a failover sets a replication source) to check that the
next preview does not revert it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ops.diff import Change, resource_changes
from ops.rehome import Import
from ops.simulate import simulate_stack
from ops.stackfiles import DeploymentError, read_stack_files


class SimulatedWorkspace:
    """Stacks simulated from the stack files in ``directory``; state kept in memory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.state: dict[str, list[dict[str, Any]]] = {}
        self.outputs_of: dict[str, dict[str, Any]] = {}
        self.unprotected: set[str] = set()
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []
        self.previews: list[tuple[str, list[Change]]] = []
        # What exists in the cloud, by type and id: it outlives the stacks that made it.
        self.live: dict[tuple[str, str], dict[str, Any]] = {}
        self.moves: list[tuple[str, str, tuple[str, ...]]] = []
        self._last: tuple[str, tuple[str, ...], Any] | None = None

    def _simulate(self, stack: str, skip_replicas: tuple[str, ...]) -> Any:
        if self._last and self._last[:2] == (stack, skip_replicas):
            return self._last[2]
        stacks = read_stack_files(self.directory)
        result = simulate_stack(stacks[stack], self.outputs_of, skip_replicas=skip_replicas)
        self._last = (stack, skip_replicas, result)
        return result

    def exists(self, stack: str) -> bool:
        return stack in self.state

    def preview(self, stack: str, *, skip_replicas: tuple[str, ...]) -> list[Change]:
        self._last = None
        result = self._simulate(stack, skip_replicas)
        changes = resource_changes(
            self.state.get(stack, []), [r.to_json() for r in result.resources]
        )
        self.previews.append((stack, changes))
        return changes

    def up(self, stack: str, *, skip_replicas: tuple[str, ...]) -> None:
        result = self._simulate(stack, skip_replicas)
        self.calls.append(("up", stack, skip_replicas))
        # As the engine does, an ignored input keeps the value it had in state.
        old = {r["urn"]: r for r in self.state.get(stack, [])}
        new = [r.to_json() for r in result.resources]
        for resource in new:
            kept = old.get(resource["urn"], {}).get("inputs", {})
            for key in resource["ignoreChanges"]:
                if key in kept:
                    resource["inputs"][key] = kept[key]
        self.state[stack] = new
        self.outputs_of[stack] = result.outputs
        for resource, entry in zip(result.resources, new, strict=True):
            if resource.custom and resource.outputs.get("id"):
                self.live[(resource.type, str(resource.outputs["id"]))] = entry

    def destroy(self, stack: str) -> None:
        protected = [r["urn"] for r in self.state.get(stack, []) if r["protect"]]
        if protected and stack not in self.unprotected:
            raise DeploymentError(f"{stack}: {len(protected)} protected resources")
        self.calls.append(("destroy", stack, ()))
        self.state.pop(stack, None)
        self.outputs_of.pop(stack, None)

    def unprotect_all(self, stack: str) -> None:
        self.unprotected.add(stack)

    def outputs(self, stack: str) -> dict[str, Any]:
        return self.outputs_of[stack]

    def lose_backend(self, stack: str) -> None:
        """The stack's state is gone with its region; what it made in other regions is not."""
        self.state.pop(stack, None)

    def import_resources(self, stack: str, resources: Sequence[Import], *, protect: bool) -> None:
        for spec in resources:
            live = self.live.get((spec.type, spec.id))
            if live is None:
                raise DeploymentError(f"import: no {spec.type} with id {spec.id}")
            parent_type = spec.parent_urn.split("::")[2]
            urn = f"urn:pulumi:{stack}::active-active::{parent_type}${spec.type}::{spec.name}"
            entry = {**live, "urn": urn, "name": spec.name, "parent": spec.parent_urn,
                     "protect": protect}  # fmt: skip
            self.state.setdefault(stack, []).append(entry)
            self.calls.append(("import", stack, (spec.type, spec.id)))

    def state_delete(self, stack: str, urn: str) -> None:
        self.state[stack] = [r for r in self.state[stack] if r["urn"] != urn]
        self.calls.append(("state delete", stack, (urn,)))

    def state_move(self, source: str, dest: str, urns: Sequence[str]) -> None:
        self.moves.append((source, dest, tuple(urns)))

    def resource(self, stack: str, type_: str, name: str) -> dict[str, Any]:
        """One resource of a stack's state, to change as AWS would."""
        (found,) = [r for r in self.state[stack] if r["type"] == type_ and r["name"] == name]
        return found
