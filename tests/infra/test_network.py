"""RegionalNetwork as simulated: the Transit Gateway mesh, routes both ways, on-premises links.

docs/pitfalls.md items 11, 12, 13 and 19 each have a test here.
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

from ops.simulate import DeploymentResult, Resource, StackResult
from tests.infra.conftest import Simulate
from tests.support.deployments import generated_configs
from tests.support.plan import (
    CUSTOMER_GATEWAY,
    DX_GATEWAY_ASSOCIATION,
    INGRESS_RULE,
    SECURITY_GROUP,
    TGW_ASSOCIATION,
    TGW_PEERING,
    TGW_PEERING_ACCEPTER,
    TGW_PROPAGATION,
    TGW_ROUTE,
    TGW_VPC_ATTACHMENT,
    TRANSIT_GATEWAY,
    VPC,
    VPC_ENDPOINT,
    VPC_ROUTE,
    VPN_CONNECTION,
    one_with,
    output_values,
    with_inputs,
)


def peerings(deployment: DeploymentResult) -> list[tuple[StackResult, Resource]]:
    return [(s, p) for s in deployment.stacks.values() for p in s.of_type(TGW_PEERING)]


def accepter_of(stack: StackResult, peering: Resource) -> Resource:
    """The accepter of a peering attachment, which the same stack makes in the peer region."""
    return one_with(stack, TGW_PEERING_ACCEPTER, transitGatewayAttachmentId=peering.outputs["id"])


def over(stack: StackResult, peering: Resource, type_: str) -> list[Resource]:
    """Resources of a type that use one peering attachment."""
    return with_inputs(stack, type_, transitGatewayAttachmentId=peering.outputs["id"])


def stack_of_tgw(deployment: DeploymentResult, tgw_id: str) -> str:
    return next(n for n, s in deployment.stacks.items() if s.outputs["transitGatewayId"] == tgw_id)


def test_the_examples_have_exactly_one_peering_per_pair_owned_by_the_later_stack(
    example_deployment: DeploymentResult,
) -> None:
    pairs = sorted(
        (stack.stack, stack_of_tgw(example_deployment, p.inputs["peerTransitGatewayId"]))
        for stack, p in peerings(example_deployment)
    )

    assert pairs == [
        ("secondary", "primary"),
        ("secondary-ap", "primary"),
        ("secondary-ap", "secondary"),
    ]


def test_each_accepter_lives_in_the_peer_region(example_deployment: DeploymentResult) -> None:
    for stack, peering in peerings(example_deployment):
        accepter = accepter_of(stack, peering)

        assert accepter.region == peering.inputs["peerRegion"]
        assert accepter.region != stack.region


def test_routes_over_a_peering_exist_on_both_sides_and_wait_for_the_accepter(
    example_deployment: DeploymentResult,
) -> None:
    # docs/pitfalls.md item 11: a route over a peering attachment made before it is accepted fails.
    for stack, peering in peerings(example_deployment):
        accepter = accepter_of(stack, peering)
        routes = over(stack, peering, TGW_ROUTE)

        assert {r.region for r in routes} == {stack.region, peering.inputs["peerRegion"]}
        for route in routes:
            assert accepter.urn in route.depends_on


def test_peering_attachments_are_associated_with_the_route_table_on_both_sides(
    example_deployment: DeploymentResult,
) -> None:
    for stack, peering in peerings(example_deployment):
        peer = example_deployment.stacks[
            stack_of_tgw(example_deployment, peering.inputs["peerTransitGatewayId"])
        ]
        tables = {
            a.inputs["transitGatewayRouteTableId"] for a in over(stack, peering, TGW_ASSOCIATION)
        }

        assert tables == {
            stack.outputs["transitGatewayRouteTableId"],
            peer.outputs["transitGatewayRouteTableId"],
        }


def test_transit_gateways_never_auto_associate_or_propagate(
    example_deployment: DeploymentResult,
) -> None:
    # docs/pitfalls.md item 12: an accepter auto-associated with a default table fails.
    for stack in example_deployment.stacks.values():
        tgw = stack.one(TRANSIT_GATEWAY)

        assert tgw.inputs["defaultRouteTableAssociation"] == "disable"
        assert tgw.inputs["defaultRouteTablePropagation"] == "disable"


def test_every_region_has_its_own_transit_gateway_asn(
    five_region_deployment: DeploymentResult,
) -> None:
    asns = [
        s.one(TRANSIT_GATEWAY).inputs["amazonSideAsn"]
        for s in five_region_deployment.stacks.values()
    ]

    assert len(set(asns)) == len(asns)


def test_the_nat_strategy_and_zone_count_are_explicit(example_deployment: DeploymentResult) -> None:
    # docs/pitfalls.md item 19: awsx defaults to three AZs with a NAT gateway in each.
    for stack in example_deployment.stacks.values():
        vpc = stack.one(VPC)

        assert vpc.inputs["natGateways"] == {"strategy": "Single"}
        assert vpc.inputs["numberOfAvailabilityZones"] == 2


def test_nat_per_az_is_available_from_config(simulate: Simulate) -> None:
    deployment = simulate(generated_configs(1, natGateways="perAz", availabilityZones=3))
    vpc = deployment.stacks["primary"].one(VPC)

    assert vpc.inputs["natGateways"] == {"strategy": "OnePerAz"}
    assert vpc.inputs["numberOfAvailabilityZones"] == 3


def test_the_cidrs_of_all_stacks_are_pairwise_disjoint(
    example_deployment: DeploymentResult,
) -> None:
    # docs/pitfalls.md item 13: overlapping CIDRs make peering useless (the plan rejects them; see
    # tests/unit/test_settings.py); here, what the example stacks really deploy.
    cidrs = [
        ipaddress.ip_network(s.one(VPC).inputs["cidrBlock"])
        for s in example_deployment.stacks.values()
    ]

    for a, b in itertools.combinations(cidrs, 2):
        assert not a.overlaps(b)


def _reachable(deployment: DeploymentResult) -> set[tuple[str, str]]:
    """(from stack, to stack) pairs where a private route table sends the CIDR to a TGW, and the
    TGW's route table sends it over a peering attachment."""
    by_cidr = {s.outputs["vpcCidr"]: n for n, s in deployment.stacks.items()}
    by_table = {
        rt_id: n
        for n, s in deployment.stacks.items()
        for rt_id in s.outputs["privateRouteTableIds"]
    }
    by_tgw_table = {
        s.outputs["transitGatewayRouteTableId"]: n for n, s in deployment.stacks.items()
    }
    vpc_routes: set[tuple[str, str]] = set()
    tgw_routes: set[tuple[str, str]] = set()
    for stack in deployment.stacks.values():
        for route in stack.of_type(VPC_ROUTE):
            if route.inputs["destinationCidrBlock"] in by_cidr:
                vpc_routes.add(
                    (
                        by_table[route.inputs["routeTableId"]],
                        by_cidr[route.inputs["destinationCidrBlock"]],
                    )
                )
        for route in stack.of_type(TGW_ROUTE):
            if route.inputs["destinationCidrBlock"] in by_cidr:
                tgw_routes.add(
                    (
                        by_tgw_table[route.inputs["transitGatewayRouteTableId"]],
                        by_cidr[route.inputs["destinationCidrBlock"]],
                    )
                )
    return vpc_routes & tgw_routes


def test_a_five_region_mesh_has_ten_attachments_and_routes_every_pair_both_ways(
    five_region_deployment: DeploymentResult,
) -> None:
    names = list(five_region_deployment.stacks)

    assert len(peerings(five_region_deployment)) == 10
    reachable = _reachable(five_region_deployment)
    for a, b in itertools.permutations(names, 2):
        assert (a, b) in reachable, f"no route from {a} to {b}"


def test_every_private_route_table_reaches_every_peer(
    five_region_deployment: DeploymentResult,
) -> None:
    for name, stack in five_region_deployment.stacks.items():
        others = {
            s.outputs["vpcCidr"] for n, s in five_region_deployment.stacks.items() if n != name
        }
        for table in stack.outputs["privateRouteTableIds"]:
            destinations = {
                r.inputs["destinationCidrBlock"]
                for s in five_region_deployment.stacks.values()
                for r in s.of_type(VPC_ROUTE)
                if r.inputs["routeTableId"] == table
            }
            assert others <= destinations, f"{name} table {table} misses {others - destinations}"


ON_PREM_CIDRS = {"192.168.0.0/16", "172.16.0.0/12"}
VPN = {"customerGatewayIp": "203.0.113.10", "bgpAsn": 65010}


def _on_prem(simulate: Simulate, **link: Any) -> StackResult:
    configs = generated_configs(1, onPrem={"cidrs": sorted(ON_PREM_CIDRS), **link})
    return simulate(configs).stacks["primary"]


def _on_prem_attachments(stack: StackResult) -> dict[str, str]:
    """The on-premises attachments of a stack's Transit Gateway, by link: vpn, dx."""
    found = {}
    for vpn in stack.of_type(VPN_CONNECTION):
        found["vpn"] = vpn.outputs["transitGatewayAttachmentId"]
    dx_gateways = stack.of_type(DX_GATEWAY_ASSOCIATION)
    vpc_attachments = output_values(stack, TGW_VPC_ATTACHMENT)
    peerings = output_values(stack, TGW_PEERING)
    if dx_gateways:
        (found["dx"],) = (
            {a.inputs["transitGatewayAttachmentId"] for a in stack.of_type(TGW_ASSOCIATION)}
            - vpc_attachments
            - peerings
            - set(found.values())
        )
    return found


def _learns_on_prem_routes_by_bgp(stack: StackResult, attachment: str) -> None:
    table = stack.outputs["transitGatewayRouteTableId"]
    for type_ in (TGW_ASSOCIATION, TGW_PROPAGATION):
        assert [
            r
            for r in stack.of_type(type_)
            if r.inputs["transitGatewayAttachmentId"] == attachment
            and r.inputs["transitGatewayRouteTableId"] == table
        ], f"{attachment} has no {type_.rsplit(':', 1)[-1]} in the TGW route table"


def test_on_prem_vpn_learns_the_on_prem_networks_by_bgp(simulate: Simulate) -> None:
    # Given a stack with a VPN to on-premises
    primary = _on_prem(simulate, vpn=VPN)

    # Then the customer gateway speaks BGP, and the VPN is a dynamic one
    gateway = primary.one(CUSTOMER_GATEWAY)
    vpn = primary.one(VPN_CONNECTION)
    assert gateway.inputs["ipAddress"] == "203.0.113.10"
    assert gateway.inputs["bgpAsn"] == "65010"
    assert vpn.inputs["transitGatewayId"] == primary.outputs["transitGatewayId"]
    assert vpn.inputs["staticRoutesOnly"] is False
    # And its attachment is associated with the TGW route table and propagates into it
    _learns_on_prem_routes_by_bgp(primary, _on_prem_attachments(primary)["vpn"])
    # And no on-premises route is static in the TGW, while the VPC still sends them to it
    tgw_static = {r.inputs["destinationCidrBlock"] for r in primary.of_type(TGW_ROUTE)}
    assert not ON_PREM_CIDRS & tgw_static
    vpc_routes = {
        r.inputs["destinationCidrBlock"]
        for r in primary.of_type(VPC_ROUTE)
        if r.inputs["transitGatewayId"] == primary.outputs["transitGatewayId"]
    }
    assert vpc_routes >= ON_PREM_CIDRS


def test_on_prem_direct_connect_associates_the_gateway_and_learns_routes_by_bgp(
    simulate: Simulate,
) -> None:
    primary = _on_prem(simulate, directConnectGatewayId="dxgw-123")

    association = primary.one(DX_GATEWAY_ASSOCIATION)
    assert association.inputs["dxGatewayId"] == "dxgw-123"
    assert association.inputs["associatedGatewayId"] == primary.outputs["transitGatewayId"]
    _learns_on_prem_routes_by_bgp(primary, _on_prem_attachments(primary)["dx"])
    assert not ON_PREM_CIDRS & {
        r.inputs["destinationCidrBlock"] for r in primary.of_type(TGW_ROUTE)
    }


def test_with_both_links_the_vpn_is_a_live_backup_of_direct_connect(simulate: Simulate) -> None:
    # Given a stack with Direct Connect and a VPN
    primary = _on_prem(simulate, vpn=VPN, directConnectGatewayId="dxgw-123")

    # Then both links propagate into the one TGW route table, where AWS prefers the Direct
    # Connect routes and falls back to the VPN's when Direct Connect withdraws them
    attachments = _on_prem_attachments(primary)
    assert set(attachments) == {"vpn", "dx"}
    for attachment in attachments.values():
        _learns_on_prem_routes_by_bgp(primary, attachment)
    # And no static route pins the on-premises networks to either link: it would win over both
    assert not ON_PREM_CIDRS & {
        r.inputs["destinationCidrBlock"] for r in primary.of_type(TGW_ROUTE)
    }


def test_without_on_prem_there_is_no_vpn_or_direct_connect(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        assert not stack.of_type(CUSTOMER_GATEWAY)
        assert not stack.of_type(VPN_CONNECTION)
        assert not stack.of_type(DX_GATEWAY_ASSOCIATION)


def test_the_database_admits_postgres_only_from_the_lambda_group(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        groups = {g.outputs["id"]: g for g in stack.of_type(SECURITY_GROUP)}
        db = groups[stack.outputs["dbSecurityGroupId"]]

        (rule,) = db.inputs["ingress"]
        assert (rule["fromPort"], rule["toPort"], rule["protocol"]) == (5432, 5432, "tcp")
        assert rule["securityGroups"] == [stack.outputs["lambdaSecurityGroupId"]]
        assert not rule.get("cidrBlocks")


def test_no_security_group_admits_the_world(example_deployment: DeploymentResult) -> None:
    for stack in example_deployment.stacks.values():
        for group in stack.of_type(SECURITY_GROUP):
            for rule in group.inputs.get("ingress", []):
                assert "0.0.0.0/0" not in rule.get("cidrBlocks", [])
                assert "::/0" not in rule.get("ipv6CidrBlocks", [])
        for rule in stack.of_type(INGRESS_RULE):
            assert rule.inputs.get("cidrIpv4") != "0.0.0.0/0"


def test_gateway_endpoints_serve_dynamodb_and_s3_on_every_private_route_table(
    example_deployment: DeploymentResult,
) -> None:
    for stack in example_deployment.stacks.values():
        endpoints = {e.inputs["serviceName"]: e for e in stack.of_type(VPC_ENDPOINT)}

        for service in ("dynamodb", "s3"):
            endpoint = endpoints[f"com.amazonaws.{stack.region}.{service}"]
            assert endpoint.inputs["vpcEndpointType"] == "Gateway"
            assert endpoint.inputs["routeTableIds"] == stack.outputs["privateRouteTableIds"]
