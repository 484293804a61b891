"""What a simulated stack registered: its resources, outputs and options, as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc

from ops.stackfiles import Pass

SECRET_MASK = "[secret]"


class SimulationError(RuntimeError):
    """The program did something a real deployment would reject."""


@dataclass
class Resource:
    """One registered resource as the engine would see it."""

    urn: str
    type: str
    name: str
    parent: str | None
    region: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    depends_on: list[str]
    ignore_changes: list[str]
    protect: bool
    provider: str | None
    custom: bool
    # Left in place when its stack is destroyed (ResourceOptions.retain_on_delete).
    retain_on_delete: bool = False
    # The URNs this resource had before (ResourceOptions.aliases): the engine moves their
    # state to it instead of deleting one resource and creating another.
    aliases: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The shape ``ops plan --json`` prints."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "region": self.region,
            "inputs": plain(self.inputs),
            "dependsOn": self.depends_on,
            "ignoreChanges": self.ignore_changes,
            "protect": self.protect,
            "aliases": self.aliases,
        }


@dataclass
class StackResult:
    """What one simulated stack registered and exported."""

    stack: str
    region: str
    role: str
    outputs: dict[str, Any]
    resources: list[Resource]

    def of_type(self, type_: str) -> list[Resource]:
        """Every resource of one type token, in registration order."""
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Resource:
        """The only resource of a type; fails when there are none or several."""
        found = self.of_type(type_)
        if len(found) != 1:
            raise AssertionError(f"{self.stack}: expected one {type_}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        """The resource with this URN."""
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)

    def to_json(self) -> dict[str, Any]:
        """The shape ``ops plan --json`` prints for one stack."""
        return {
            "region": self.region,
            "role": self.role,
            "outputs": plain(self.outputs),
            "resources": [r.to_json() for r in self.resources],
        }


@dataclass
class DeploymentResult:
    """Every stack of a deployment, simulated in deploy order."""

    order: list[Pass]
    # Each stack as of its last pass.
    stacks: dict[str, StackResult] = field(default_factory=dict)
    # Every pass in order with what it registered: the home stack's first pass included.
    passes: list[tuple[Pass, StackResult]] = field(default_factory=list)
    # The stacks that were deployed already (from the saved outputs) when this was planned.
    deployed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The document ``ops plan --json`` prints."""
        return {
            "order": [p.stack for p in self.order],
            "deployed": list(self.deployed),
            "stacks": {name: result.to_json() for name, result in self.stacks.items()},
            "passes": [
                {
                    "stack": step.stack,
                    "converge": step.converge,
                    "skipReplicas": list(step.skip_replicas),
                    "resources": [r.to_json() for r in result.resources],
                }
                for step, result in self.passes
            ],
        }


def plain(value: Any) -> Any:
    """Inputs and outputs as JSON: secrets masked, assets and archives by path."""
    if rpc.is_rpc_secret(value):
        return SECRET_MASK
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        return {"path": value.path}
    if isinstance(value, pulumi.AssetArchive):
        return {"assets": {k: plain(v) for k, v in value.assets.items()}}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    if isinstance(value, pulumi.Resource):
        return str(getattr(value, "_name", value))
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def unwrap_secrets(value: Any) -> Any:
    """The same value with every secret replaced by its plain value."""
    if rpc.is_rpc_secret(value):
        return unwrap_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value
