"""One region's stack: the components for its role, wired together, and its exports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.settings import Settings, qualified_name, short_name


@dataclass(frozen=True)
class StackRefs:
    """The StackReferences this stack reads, by the referenced stack's short name."""

    refs: dict[str, pulumi.StackReference]

    def output(self, stack: str, key: str) -> pulumi.Output[Any]:
        """One output of a referenced stack."""
        return self.refs[short_name(stack)].require_output(key)


def references(settings: Settings) -> StackRefs:
    """A StackReference to every stack this one reads, in dependency order."""
    return StackRefs(
        {
            short_name(name): pulumi.StackReference(qualified_name(name))
            for name in settings.referenced_stacks()
        }
    )


def build(settings: Settings) -> dict[str, pulumi.Input[Any]]:
    """Build the stack for ``settings`` and return the outputs it exports.

    Every stack exports the same shape for its own region, so any stack can be a peer.
    """
    references(settings)
    return {
        "region": settings.region,
        "role": settings.role.value,
        "vpcCidr": settings.vpc_cidr,
    }
