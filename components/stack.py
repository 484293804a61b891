"""One region's stack: the components for its role, wired together, and its exports."""

from __future__ import annotations

from typing import Any

import pulumi

from components.network import PeerNetwork, RegionalNetwork, RegionalNetworkArgs
from components.settings import Settings, qualified_name, short_name


class StackRefs:
    """The StackReferences this stack reads, by the referenced stack's short name."""

    def __init__(self, settings: Settings):
        self.refs = {
            short_name(name): pulumi.StackReference(qualified_name(name))
            for name in settings.referenced_stacks()
        }

    def output(self, stack: str, key: str) -> pulumi.Output[Any]:
        """One output of a referenced stack; fails the deployment when the stack lacks it."""
        return self.refs[short_name(stack)].require_output(key)


def build(settings: Settings) -> dict[str, pulumi.Input[Any]]:
    """Build the stack for ``settings`` and return the outputs it exports.

    Every stack exports the same shape for its own region, so any stack can be a peer.
    """
    refs = StackRefs(settings)
    peers = tuple(
        PeerNetwork(
            stack=name,
            region=settings.peer(name).region,
            vpc_cidr=settings.peer(name).vpc_cidr,
            availability_zones=settings.peer(name).availability_zones,
            transit_gateway_id=refs.output(name, "transitGatewayId"),
            transit_gateway_route_table_id=refs.output(name, "transitGatewayRouteTableId"),
            private_route_table_ids=refs.output(name, "privateRouteTableIds"),
        )
        for name in settings.peer_stacks
    )
    network = RegionalNetwork(settings.stack, RegionalNetworkArgs(settings, peers))
    return {
        "region": settings.region,
        "role": settings.role.value,
        "vpcCidr": settings.vpc_cidr,
        "vpcId": network.vpc_id,
        "privateSubnetIds": network.private_subnet_ids,
        "privateRouteTableIds": network.private_route_table_ids,
        "lambdaSecurityGroupId": network.lambda_security_group_id,
        "dbSecurityGroupId": network.db_security_group_id,
        "transitGatewayId": network.transit_gateway_id,
        "transitGatewayRouteTableId": network.transit_gateway_route_table_id,
    }
