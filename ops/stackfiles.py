"""Stack files and the order they deploy in.

Pulumi neither orders dependent stacks (pulumi/pulumi#6311) nor destroys them in reverse
(pulumi/pulumi#5462), so the order comes from here: from each stack file's ``homeStack``
and ``peerStacks``. The stack files are checked one by one, then as a deployment, and the
references they make once more when the order is derived, all before any stack runs.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.settings import (
    PROJECT,
    ConfigError,
    Settings,
    StackValues,
    check_deployment,
    check_references,
    parse_settings,
    read_stack_file,
    short_name,
    with_peers,
)


class DeploymentError(ValueError):
    """The stack files cannot be deployed as a whole: a cycle, or no home stack."""


@dataclass(frozen=True)
class StackFile:
    """One ``Pulumi.<stack>.yaml``: its raw config and the settings parsed from it."""

    name: str
    path: Path
    config: dict[str, Any]
    settings: Settings


@dataclass(frozen=True)
class Pass:
    """One step of a deployment: a stack, and whether it is the home stack's converge pass."""

    stack: str
    converge: bool = False
    # The home stack's first pass runs before these replica stacks exist, so it leaves them
    # out of replication; the converge pass adds them. Empty once they all exist.
    skip_replicas: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How the pass is shown: the stack's name, marked when it is the converge pass."""
        if self.converge:
            return f"{self.stack} (converge)"
        if self.skip_replicas:
            return f"{self.stack} (without {', '.join(self.skip_replicas)}, not deployed yet)"
        return self.stack


def read_stack_files(directory: Path) -> dict[str, StackFile]:
    """Every stack file in ``directory``, validated one by one and then as a deployment.

    Every file is read before anything is refused, so that one message lists the mistakes of
    every file (each with its file, line and key).
    """
    paths = sorted(directory.glob("Pulumi.*.yaml"))
    if not paths:
        raise DeploymentError(f"no Pulumi.<stack>.yaml in {directory}")
    names = [p.name[len("Pulumi.") : -len(".yaml")] for p in paths]
    problems: list[ConfigError] = []
    configs: dict[str, StackValues] = {}
    for name, path in zip(names, paths, strict=True):
        try:
            configs[name] = read_stack_file(name, path)
        except ConfigError as error:
            problems.append(error)
    parsed: dict[str, Settings] = {}
    for name, config in configs.items():
        try:
            parsed[name] = parse_settings(name, config, known_stacks=names)
        except ConfigError as error:
            problems += [error, *error.also]
    if problems:
        raise ConfigError.of(problems)
    files = {
        name: StackFile(name, path, _as_written(configs[name]), with_peers(parsed[name], configs))
        for name, path in zip(names, paths, strict=True)
    }
    check_deployment(f.settings for f in files.values())
    return files


def _as_written(config: StackValues) -> dict[str, Any]:
    """A stack file's config with its keys as written: project keys carry the prefix."""
    return {(k if ":" in k else f"{PROJECT}:{k}"): v for k, v in config.items()}


def deploy_order(stacks: dict[str, Settings], deployed: Collection[str] = ()) -> list[Pass]:
    """Home stack first, then the members after everything they reference, then converge.

    A stack depends on its ``homeStack`` and ``peerStacks``. Among stacks that are ready at
    the same time the home stack goes first, then by name, so the order is stable.
    ``deployed`` are the stacks that exist already: the home stack's first pass leaves out
    only the replica stacks that do not, and the converge pass runs only when it left one out.
    """
    homes = [s for s in stacks.values() if s.is_home]
    if not homes:
        raise DeploymentError("no stack has role home")
    home = homes[0]
    existing = {short_name(name) for name in deployed}
    missing = tuple(short_name(r) for r in home.replica_stacks if short_name(r) not in existing)
    needs = {
        name: {short_name(r) for r in (s.home_stack, *s.peer_stacks) if r}
        for name, s in stacks.items()
    }
    waiting = {name: set(deps) for name, deps in needs.items()}
    ready = [(not stacks[n].is_home, n) for n, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[Pass] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(Pass(name, skip_replicas=missing if stacks[name].is_home else ()))
        for other, deps in waiting.items():
            if name in deps:
                deps.discard(name)
                if not deps:
                    heapq.heappush(ready, (not stacks[other].is_home, other))
    stuck = sorted(n for n, deps in waiting.items() if deps)
    if stuck:
        raise DeploymentError(
            "dependency cycle between stacks "
            + ", ".join(f"{n} (waits for {', '.join(sorted(waiting[n]))})" for n in stuck)
        )
    # Checked here rather than when the files are read: a region half taken out (its file
    # still there, no stack naming it any more) must stay readable, so that `ops remove-region`
    # can finish; what is deployed must be complete.
    check_references(stacks, [step.stack for step in order])
    if missing:
        order.append(Pass(home.stack, converge=True))
    return order


def pulumi_config(config: dict[str, Any]) -> dict[str, str]:
    """Config as the Pulumi runtime holds it: every value a string, structures as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
