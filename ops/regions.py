"""Removing a region from a live deployment, touching no other region's data.

A region is a stack, and other stacks name it: the home stack replicates its lake bucket and
master secret to it (`replicaStacks`), later stacks peer their Transit Gateway with it
(`peerStacks`). Removing it takes it out of those first (an `up` of each stack that names it,
which deletes only replication rules, secret replicas, peering attachments and routes), then
destroys its stack (its Aurora cluster leaves the global cluster first, its table replica and
bucket go), then deletes its stack file and forgets it in the saved deployment files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Protocol

import yaml

from components.settings import PROJECT, short_name
from ops import deployed
from ops.deploy import Workspace, up
from ops.stackfiles import DeploymentError, Pass, StackFile, read_stack_files

REFERENCE_KEYS = ("peerStacks", "replicaStacks")


class RemovingWorkspace(Workspace, Protocol):
    """A workspace that can also lift `protect` from a stack's own resources."""

    def unprotect_all(self, stack: str) -> None:
        """`pulumi state unprotect --all` on one stack."""


def drop_reference(path: Path, key: str, stack: str) -> bool:
    """Remove ``stack`` from the list ``key`` of one stack file, keeping its comments.

    Returns whether the file named it. Block lists are edited line by line; anything else is
    rewritten from its parsed form.
    """
    text = path.read_text()
    config = (yaml.safe_load(text) or {}).get("config") or {}
    names = config.get(f"{PROJECT}:{key}") or []
    kept = [n for n in names if short_name(n) != stack]
    if len(kept) == len(names):
        return False
    lines = text.splitlines(keepends=True)
    header = re.compile(rf"^(\s*){re.escape(PROJECT)}:{key}:\s*$")
    for i, line in enumerate(lines):
        match = header.match(line)
        if not match:
            continue
        end = i + 1
        while end < len(lines) and re.match(r"^\s*-\s", lines[end]):
            end += 1
        items = [
            item
            for item in lines[i + 1 : end]
            if short_name(item.split("-", 1)[1].strip()) != stack
        ]
        replacement = items if items else []
        head = [line] if items else [f"{match.group(1)}{PROJECT}:{key}: []\n"]
        lines[i:end] = head + replacement
        path.write_text("".join(lines))
        return True
    document = yaml.safe_load(text)
    document["config"][f"{PROJECT}:{key}"] = kept
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return True


def remove_region(
    directory: Path,
    stack: str,
    workspace: RemovingWorkspace,
    *,
    confirm: Callable[[list[str]], bool] = lambda referencing: True,
    applied: Callable[[Pass], None] = lambda step: None,
    outputs_file: Path | None = None,
    allow_data_loss: Collection[str] = (),
) -> list[str]:
    """Take ``stack``'s region out of the deployment; returns the stacks updated before it
    was destroyed. ``confirm`` sees those stacks and may stop before anything changes."""
    stacks = read_stack_files(directory)
    if stack not in stacks:
        raise DeploymentError(f"no Pulumi.{stack}.yaml in {directory}")
    if stacks[stack].settings.is_home:
        raise DeploymentError(
            f"{stack} is the home stack: it owns the global cluster, the global table and the "
            "master secret, which every other region uses. A home region cannot be removed; "
            "if it is lost for good, `python -m ops rehome --to STACK` (docs/operations.md)"
        )
    referencing = [
        name
        for name, f in stacks.items()
        if name != stack
        and any(
            short_name(r) == stack for r in (*f.settings.peer_stacks, *f.settings.replica_stacks)
        )
    ]
    if not confirm(referencing):
        raise DeploymentError("stopped before changing anything")
    for name in referencing:
        for key in REFERENCE_KEYS:
            drop_reference(stacks[name].path, key, stack)
    remaining: dict[str, StackFile] = {
        name: f for name, f in read_stack_files(directory).items() if name != stack
    }
    if referencing:
        up(remaining, workspace, build=lambda: None, only=referencing, applied=applied,
           allow_data_loss=allow_data_loss)  # fmt: skip
    if workspace.exists(stack):
        if stacks[stack].settings.is_prod:
            workspace.unprotect_all(stack)
        workspace.destroy(stack)
    stacks[stack].path.unlink()
    plan_file = (outputs_file or deployed.OUTPUTS_FILE).parent / deployed.PLAN_FILE.name
    deployed.forget_stack(stack, outputs_file or deployed.OUTPUTS_FILE, plan_file)
    return referencing
