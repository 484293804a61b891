"""Rehome: the home region is lost for good, and a surviving stack takes ownership.

Nothing in AWS is changed here. The surviving stack's state takes the Aurora global cluster
(`pulumi import`: it is global, and reads back from any region) and, where the lost home
stack's backend still answers, the CloudFront entry (`pulumi state move`), which is global
too; the lost stack's state lets go of the global cluster (`pulumi state delete`), so that
removing that stack later can never delete it. Then the stack files are rewritten: the new
home stack says `role: home` and what it adopted (`adopted`: the lost stack, the global
table's ARN and the master secret as the members joined them), every member names it in
`homeStack`, nobody names the lost stack any more, and the lost stack's file goes.

What stays unmanaged, on purpose: the table and the master secret lived in the lost region.
Every surviving region keeps its table replica and its copy of the master secret, which is
all the stacks need; docs/operations.md says how to take the secret back under management.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from components.aurora import replica_secret_arn
from components.settings import PROJECT, qualified_name, short_name
from ops import deployed
from ops.regions import drop_reference
from ops.stackfiles import DeploymentError, read_stack_files

GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
GLOBAL_DATA = "active-active:components:GlobalData"
GLOBAL_ENTRY = "active-active:components:GlobalEntry"


@dataclass(frozen=True)
class Import:
    """One existing cloud resource to adopt into a stack's state, under a component."""

    type: str
    name: str
    id: str
    parent_urn: str


class RehomingWorkspace(Protocol):
    """What rehoming needs from Pulumi, beyond deploying."""

    def exists(self, stack: str) -> bool:
        """Whether the backend has the stack (False when it is unreachable)."""

    def import_resources(self, stack: str, resources: Sequence[Import], *, protect: bool) -> None:
        """`pulumi import` into one stack, no code generated."""

    def state_delete(self, stack: str, urn: str) -> None:
        """`pulumi state delete`: forget a resource without touching it."""

    def state_move(self, source: str, dest: str, urns: Sequence[str]) -> None:
        """`pulumi state move`: resources (with their children) from one stack to another."""


def component_urn(stack: str, type_: str, name: str) -> str:
    """The URN of a component registered at the stack's root."""
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def child_urn(stack: str, parent_type: str, type_: str, name: str) -> str:
    """The URN of a resource whose parent is a root component of ``parent_type``."""
    return f"urn:pulumi:{stack}::{PROJECT}::{parent_type}${type_}::{name}"


def rehome(
    directory: Path,
    to: str,
    workspace: RehomingWorkspace,
    outputs: Mapping[str, Mapping[str, Any]],
    outputs_file: Path = deployed.OUTPUTS_FILE,
) -> str:
    """Make ``to`` the home stack in place of the lost one; returns the lost stack's name.

    ``outputs`` are the saved outputs (`deployment/outputs.json`): the lost stack's
    ``globalClusterId``, ``tableArn`` and ``dbSecretArn`` are read there, since its backend may
    be gone with its region.
    """
    stacks = read_stack_files(directory)
    lost = next((name for name, f in stacks.items() if f.settings.is_home), None)
    if lost is None:
        raise DeploymentError("no stack file has role home: there is nothing to rehome")
    if to not in stacks or to == lost:
        raise DeploymentError(f"--to must name a surviving member stack, not {to!r}")
    if to not in outputs or lost not in outputs:
        raise DeploymentError(
            f"the saved outputs lack {to if to not in outputs else lost}: rehoming reads the "
            "lost stack's global cluster, table and secret from deployment/outputs.json"
        )
    old, new = outputs[lost], stacks[to].settings
    global_cluster_id = str(old["globalClusterId"])

    workspace.import_resources(
        to,
        [
            Import(
                GLOBAL_CLUSTER,
                f"{to}-global-db",
                global_cluster_id,
                component_urn(to, GLOBAL_DATA, to),
            )
        ],
        protect=new.is_prod,
    )
    if workspace.exists(lost):
        # The entry (CloudFront, its certificate, WAF, alias) is global: it moves whole, and
        # the new home declares it under the lost stack's name, so the URNs match.
        if stacks[lost].settings.domain is not None:
            entry = component_urn(lost, GLOBAL_ENTRY, f"{lost}-entry")
            workspace.state_move(lost, to, [entry])
        workspace.state_delete(
            lost, child_urn(lost, GLOBAL_DATA, GLOBAL_CLUSTER, f"{lost}-global-db")
        )

    _rewrite_stack_files(
        directory,
        lost,
        to,
        adopted={
            "fromStack": lost,
            "tableArn": str(old["tableArn"]),
            "masterSecretArn": replica_secret_arn(str(old["dbSecretArn"]), new.region),
        },
    )
    deployed.forget_stack(lost, outputs_file, outputs_file.parent / deployed.PLAN_FILE.name)
    return lost


def _rewrite_stack_files(directory: Path, lost: str, to: str, adopted: dict[str, str]) -> None:
    stacks = read_stack_files(directory)
    # Keep the organization the stack files already write (`<org>/active-active/<stack>`).
    home_reference = stacks[to].settings.home_stack or qualified_name(lost)
    organization = home_reference.split("/")[0] if "/" in home_reference else None

    def named(stack: str) -> str:
        return qualified_name(stack, organization) if organization else qualified_name(stack)

    replicas = [
        named(name)
        for name in (short_name(r) for r in stacks[lost].settings.replica_stacks)
        if name != to
    ]
    # The home stack deploys first, so it can peer with no member: each member it peered with
    # takes that peering over (its attachment is made anew from the member's side).
    handed_over = [short_name(p) for p in stacks[to].settings.peer_stacks if short_name(p) != lost]
    for name, stack in stacks.items():
        if name in (lost, to):
            continue
        for key in ("peerStacks", "replicaStacks"):
            drop_reference(stack.path, key, lost)
        peers = [named(short_name(p)) for p in stack.settings.peer_stacks if short_name(p) != lost]
        if name in handed_over:
            peers.append(named(to))
        _set(stack.path, {"homeStack": named(to), "peerStacks": peers}, ())
    _set(
        stacks[to].path,
        {"role": "home", "replicaStacks": replicas, "adopted": adopted},
        ("homeStack", "peerStacks"),
    )
    stacks[lost].path.unlink()


def _set(path: Path, values: Mapping[str, Any], remove: Sequence[str]) -> None:
    """Set and remove project keys of one stack file (its comments are not kept)."""
    document = yaml.safe_load(path.read_text()) or {}
    config = document.setdefault("config", {})
    for key in remove:
        config.pop(f"{PROJECT}:{key}", None)
    for key, value in values.items():
        config[f"{PROJECT}:{key}"] = value
    path.write_text(yaml.safe_dump(document, sort_keys=False))
