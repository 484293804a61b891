"""Checks that need several stack files at once, each mistake naming the file and the key.

``check_deployment`` holds for any set of stacks (a stack and the ones it references, or all
of them): one home stack, which every ``homeStack`` names; one stack per region; one
organization in every reference; VPC CIDRs apart, and no on-premises CIDR inside one; and every key declared
``Everywhere`` the same in every stack. ``check_references`` needs the whole deployment and its
order: the home stack's ``replicaStacks`` names every member, and every two stacks are peered
once, by the later one.

The reference lists are written in the stack files rather than derived from them: removing a
region (`ops remove-region`) and rehoming (`ops rehome`) edit them, and a stack's references
decide what it reads and peers with, which a reader of one stack file should see there. They
are cross-checked instead, so a forgotten entry stops the plan before anything is deployed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from components.settings import schema
from components.settings.errors import PROJECT, ConfigError
from components.settings.model import Settings


def _error(settings: Settings, key: str, problem: str) -> ConfigError:
    return ConfigError(settings.stack, key, problem).located(settings.lines)


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _references(settings: Settings) -> list[tuple[str, str]]:
    """(key, name) for every stack this stack names."""
    names = [("homeStack", settings.home_stack)] if settings.home_stack else []
    names += [("peerStacks", n) for n in settings.peer_stacks]
    names += [("replicaStacks", n) for n in settings.replica_stacks]
    return [(key, name) for key, name in names if name]


def organization_of(settings: Settings) -> str | None:
    """The organization this stack's references name, if it names any."""
    references = _references(settings)
    return references[0][1].split("/", 1)[0] if references else None


def check_deployment(settings: Iterable[Settings]) -> None:
    """What must hold between any stacks of one deployment; raises one ConfigError that lists
    every mistake found.

    A member cluster with another engine version than the global cluster fails when it joins
    it; overlapping CIDRs make Transit Gateway peering useless (docs/pitfalls.md item 13); two
    stacks in one region collide on the names they give their resources there.
    """
    stacks = list(settings)
    problems: list[ConfigError] = []
    homes = [s for s in stacks if s.is_home]
    if len(homes) > 1:
        problems.append(
            _error(homes[1], "role", f"{homes[0].stack} is already the home stack; there is one")
        )
    by_name = {s.stack: s for s in stacks}
    for stack in stacks:
        named = by_name.get(_short(stack.home_stack or ""))
        if named is not None and not named.is_home:
            organization = (stack.home_stack or "").split("/", 1)[0]
            home = f", {organization}/{PROJECT}/{homes[0].stack}" if homes else ""
            problems.append(
                _error(
                    stack,
                    "homeStack",
                    f"names {stack.home_stack}, a member stack; name the home stack{home}, "
                    "or writes would be forwarded to a reader",
                )
            )
    regions: dict[str, str] = {}
    for stack in stacks:
        if stack.region in regions:
            problems.append(
                _error(
                    stack,
                    "aws:region",
                    f"{stack.region} is the region of stack {regions[stack.region]} already: one "
                    "stack per region (the names a stack gives its resources there would collide)",
                )
            )
        regions.setdefault(stack.region, stack.stack)
    problems += _organizations(stacks)
    problems += _the_same_everywhere(stacks)
    problems += _networks(stacks)
    if problems:
        raise ConfigError.of(problems)


def _organizations(stacks: Sequence[Settings]) -> list[ConfigError]:
    first: tuple[str, Settings, str] | None = None
    problems = []
    for stack in stacks:
        for key, name in _references(stack):
            organization = name.split("/", 1)[0]
            if first is None:
                first = (organization, stack, key)
            elif organization != first[0]:
                problems.append(
                    _error(
                        stack,
                        key,
                        f"names organization {organization!r} ({name}), and {first[2]} of "
                        f"stack {first[1].stack} names {first[0]!r}: every stack of a deployment "
                        "lives in one organization (the one `ops up --organization` deploys to)",
                    )
                )
                break
    return problems


def _the_same_everywhere(stacks: Sequence[Settings]) -> list[ConfigError]:
    problems: list[ConfigError] = []
    if not stacks:
        return problems
    first = stacks[0]
    for key in schema.declared_keys():
        why = schema.everywhere(key.field)
        if why is None:
            continue
        for stack in stacks[1:]:
            path, mine, theirs = _difference(
                key.path, _value(stack, key.path), _value(first, key.path)
            )
            if path is None:
                continue
            if mine is None or theirs is None:
                here, there = ("not set", "set") if mine is None else ("set", "not set")
                problem = (
                    f"{here} here but {there} in stack {first.stack}: it must be the same in "
                    f"every stack, because {why.why}"
                )
            else:
                problem = (
                    f"{schema.shown(mine)} differs from {schema.shown(theirs)} of stack "
                    f"{first.stack}: it must be the same in every stack, because {why.why}"
                )
            problems.append(_error(stack, path, problem))
    return problems


def _value(settings: Settings, path: str) -> Any:
    """The value of a key such as ``database.engineVersion``; None under an unset mapping."""
    value: Any = settings
    for part in path.split("."):
        if value is None:
            return None
        fields = type(value).model_fields.items()
        value = getattr(value, next(n for n, f in fields if (f.alias or n) == part))
    return value


def _difference(path: str, mine: Any, theirs: Any) -> tuple[str | None, Any, Any]:
    """The first key under ``path`` where two values differ, with both values there."""
    if mine == theirs:
        return None, mine, theirs
    if isinstance(mine, BaseModel) and isinstance(theirs, BaseModel):
        for name, field in type(mine).model_fields.items():
            a, b = getattr(mine, name), getattr(theirs, name)
            if a != b:
                return f"{path}.{field.alias or name}", a, b
    return path, mine, theirs


def _networks(stacks: Sequence[Settings]) -> list[ConfigError]:
    problems = []
    networks = [(s, ipaddress.ip_network(s.vpc_cidr)) for s in stacks]
    for i, (stack, network) in enumerate(networks):
        for other, other_network in networks[:i]:
            if network.overlaps(other_network):
                problems.append(
                    _error(
                        stack,
                        "vpcCidr",
                        f"{network} overlaps {other_network} of stack {other.stack}",
                    )
                )
                break
    # A wider on-premises range (10.0.0.0/8 around the VPCs) is fine: each VPC's own, more
    # specific routes win. One inside a VPC's CIDR takes that VPC's traffic on-premises, and AWS
    # refuses such a route in the VPC itself.
    for stack in stacks:
        for cidr in stack.on_prem.cidrs if stack.on_prem else ():
            for other, network in networks:
                if ipaddress.ip_network(cidr).subnet_of(network):  # type: ignore[arg-type]
                    where = "this stack's VPC" if other is stack else f"the VPC of {other.stack}"
                    problems.append(
                        _error(
                            stack,
                            "onPrem.cidrs",
                            f"{cidr} lies within {network}, {where}: its traffic would be sent "
                            "on-premises (AWS refuses that route in the VPC itself); a range "
                            "around the VPCs, such as 10.0.0.0/8, is fine",
                        )
                    )
    return problems


def check_references(stacks: Mapping[str, Settings], order: Sequence[str]) -> None:
    """What only the whole deployment can show, given its deploy order: the home stack's
    ``replicaStacks`` names every member, and every two stacks are peered once, by the later.

    A member missing from ``replicaStacks`` exports a replica of the master secret that is
    never made; two regions that are not peered have no route between their VPCs.
    """
    homes = [s for s in stacks.values() if s.is_home]
    if not homes:
        return
    home = homes[0]
    organization = organization_of(home) or next(
        (o for s in stacks.values() if (o := organization_of(s))), "organization"
    )
    problems = []
    replicas = {_short(name) for name in home.replica_stacks}
    missing = [name for name in order if name != home.stack and name not in replicas]
    if missing:
        add = ", ".join(f"{organization}/{PROJECT}/{name}" for name in missing)
        problems.append(
            _error(
                home,
                "replicaStacks",
                f"does not name {', '.join(missing)}: every member stack is a replica stack "
                f"(its lake receives replication, its region a replica of the master secret, "
                f"which it exports); add {add}. To take a region out, `python -m ops "
                "remove-region STACK`",
            )
        )
    peers = {name: {_short(p) for p in s.peer_stacks} for name, s in stacks.items()}
    for later_index, later in enumerate(order):
        for earlier in order[:later_index]:
            if earlier not in peers[later] and later not in peers[earlier]:
                problems.append(
                    _error(
                        stacks[later],
                        "peerStacks",
                        f"does not name {earlier}, and {earlier} does not name {later}: every "
                        "two stacks peer their Transit Gateways once, from the one deployed "
                        f"later (full mesh); add {organization}/{PROJECT}/{earlier}",
                    )
                )
    if problems:
        raise ConfigError.of(problems)
