"""RegionalNetwork: the VPC, the Transit Gateway, the full mesh to peer regions, on-premises links.

Each stack peers with the stacks deployed before it (``peerStacks``), so with N regions there
are N(N-1)/2 peering attachments, each owned by the later stack. The later stack also writes
the routes on the peer's side (in the peer's region, through the v7 ``region`` argument), so
an earlier stack never needs a redeploy when a region is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

from components.settings import NatGateways, Settings, short_name
from components.tags import tags

# Private ASNs (64512-65534), one per AWS region, so that no two regions' Transit Gateways
# share an ASN, which a VPN or Direct Connect on either side would need.
_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1",
    "sa-east-1", "mx-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1",
    "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "il-central-1", "me-south-1",
    "me-central-1", "af-south-1", "ap-south-1", "ap-south-2", "ap-southeast-1",
    "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-east-1", "ap-east-2",
)  # fmt: skip
_FIRST_ASN = 64512

_NAT_STRATEGIES = {
    NatGateways.SINGLE: awsx.ec2.NatGatewayStrategy.SINGLE,
    NatGateways.PER_AZ: awsx.ec2.NatGatewayStrategy.ONE_PER_AZ,
}


def transit_gateway_asn(region: str) -> int:
    """The Amazon-side ASN of a region's Transit Gateway: distinct for every region."""
    if region not in _REGIONS:
        raise ValueError(f"no Transit Gateway ASN assigned to region {region}; add it to _REGIONS")
    return _FIRST_ASN + _REGIONS.index(region)


@dataclass(frozen=True)
class PeerNetwork:
    """What this stack needs of a peer stack: its region and CIDR, and its exported ids."""

    stack: str
    region: str
    vpc_cidr: str
    availability_zones: int
    transit_gateway_id: pulumi.Input[str]
    transit_gateway_route_table_id: pulumi.Input[str]
    private_route_table_ids: pulumi.Input[list[str]]


@dataclass(frozen=True)
class RegionalNetworkArgs:
    """What one region's network needs: its settings and the peers it meshes with."""

    settings: Settings
    peers: tuple[PeerNetwork, ...] = ()


class RegionalNetwork(pulumi.ComponentResource):
    """A VPC over two or more AZs, a Transit Gateway peered with every earlier region."""

    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[Sequence[str]]
    private_route_table_ids: pulumi.Output[list[str]]
    lambda_security_group_id: pulumi.Output[str]
    db_security_group_id: pulumi.Output[str]
    transit_gateway_id: pulumi.Output[str]
    transit_gateway_route_table_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegionalNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("active-active:components:RegionalNetwork", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)

        # awsx defaults to three AZs and a NAT gateway in each (about $100 a month a region,
        # docs/pitfalls.md item 19): both are set explicitly from config.
        vpc = awsx.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=settings.vpc_cidr,
            number_of_availability_zones=settings.availability_zones,
            nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(
                strategy=_NAT_STRATEGIES[settings.nat_gateways]
            ),
            subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO,
            subnet_specs=[
                awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PRIVATE),
                awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PUBLIC),
            ],
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags(settings, f"{name}-vpc"),
            opts=child,
        )
        self.vpc_id = vpc.vpc_id
        self.private_subnet_ids = vpc.private_subnet_ids

        # awsx gives each private subnet its own route table; looking them up by subnet keeps
        # the count known from config, so the routes below are plain, visible resources.
        private_tables = [
            aws.ec2.get_route_table_output(subnet_id=vpc.private_subnet_ids[zone])
            for zone in range(settings.availability_zones)
        ]
        table_ids = [table.route_table_id for table in private_tables]
        self.private_route_table_ids = pulumi.Output.all(*table_ids).apply(list)

        for service in ("dynamodb", "s3"):
            aws.ec2.VpcEndpoint(
                f"{name}-{service}-endpoint",
                vpc_id=vpc.vpc_id,
                service_name=f"com.amazonaws.{settings.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=table_ids,
                tags=tags(settings, f"{name}-{service}-endpoint"),
                opts=child,
            )

        lambda_sg = aws.ec2.SecurityGroup(
            f"{name}-lambda-sg",
            description="Lambda functions: no ingress, egress to the VPC, peers and AWS APIs",
            vpc_id=vpc.vpc_id,
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"],
                    description="AWS APIs through NAT or endpoints, Aurora, peers",
                )
            ],
            tags=tags(settings, f"{name}-lambda-sg"),
            opts=child,
        )  # fmt: skip
        db_sg = aws.ec2.SecurityGroup(
            f"{name}-db-sg",
            description="Aurora PostgreSQL: 5432 from this region's Lambda functions only",
            vpc_id=vpc.vpc_id,
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp", from_port=5432, to_port=5432,
                    security_groups=[lambda_sg.id], description="Lambda functions",
                )
            ],
            tags=tags(settings, f"{name}-db-sg"),
            opts=child,
        )  # fmt: skip
        self.lambda_security_group_id = lambda_sg.id
        self.db_security_group_id = db_sg.id

        # Default association and propagation off: an accepter auto-associated with the
        # default route table fails with Resource.AlreadyAssociated (docs/pitfalls.md item 12).
        tgw = aws.ec2transitgateway.TransitGateway(
            f"{name}-tgw",
            description=f"active-active {settings.stack} ({settings.region})",
            amazon_side_asn=transit_gateway_asn(settings.region),
            default_route_table_association="disable",
            default_route_table_propagation="disable",
            auto_accept_shared_attachments="disable",
            dns_support="enable",
            vpn_ecmp_support="enable",
            tags=tags(settings, f"{name}-tgw"),
            opts=child,
        )
        routes = aws.ec2transitgateway.RouteTable(
            f"{name}-tgw-routes",
            transit_gateway_id=tgw.id,
            tags=tags(settings, f"{name}-tgw-routes"),
            opts=child,
        )
        self.transit_gateway_id = tgw.id
        self.transit_gateway_route_table_id = routes.id

        attachment = aws.ec2transitgateway.VpcAttachment(
            f"{name}-vpc-attachment",
            transit_gateway_id=tgw.id,
            vpc_id=vpc.vpc_id,
            subnet_ids=vpc.private_subnet_ids,
            transit_gateway_default_route_table_association=False,
            transit_gateway_default_route_table_propagation=False,
            tags=tags(settings, f"{name}-vpc-attachment"),
            opts=child,
        )
        aws.ec2transitgateway.RouteTableAssociation(
            f"{name}-vpc-association",
            transit_gateway_attachment_id=attachment.id,
            transit_gateway_route_table_id=routes.id,
            opts=child,
        )
        aws.ec2transitgateway.RouteTablePropagation(
            f"{name}-vpc-propagation",
            transit_gateway_attachment_id=attachment.id,
            transit_gateway_route_table_id=routes.id,
            opts=child,
        )

        remote_cidrs: dict[str, str] = {}
        for peer in args.peers:
            self._peer(name, settings, peer, tgw, routes, child)
            remote_cidrs[short_name(peer.stack)] = peer.vpc_cidr
        if settings.on_prem:
            self._on_prem(name, settings, tgw, routes, child)
            remote_cidrs |= {f"onprem{i}": c for i, c in enumerate(settings.on_prem.cidrs)}

        # Private subnets reach every peer region and on-premises network through the TGW.
        for zone, table_id in enumerate(table_ids):
            for label, cidr in remote_cidrs.items():
                aws.ec2.Route(
                    f"{name}-az{zone}-to-{label}",
                    route_table_id=table_id,
                    destination_cidr_block=cidr,
                    transit_gateway_id=tgw.id,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
                )

        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "privateRouteTableIds": self.private_route_table_ids,
                "lambdaSecurityGroupId": self.lambda_security_group_id,
                "dbSecurityGroupId": self.db_security_group_id,
                "transitGatewayId": self.transit_gateway_id,
                "transitGatewayRouteTableId": self.transit_gateway_route_table_id,
            }
        )

    def _peer(
        self,
        name: str,
        settings: Settings,
        peer: PeerNetwork,
        tgw: aws.ec2transitgateway.TransitGateway,
        routes: aws.ec2transitgateway.RouteTable,
        child: pulumi.ResourceOptions,
    ) -> None:
        """One peering: attachment here, accepter, associations and routes on both sides."""
        label = f"{name}-peer-{short_name(peer.stack)}"
        peering = aws.ec2transitgateway.PeeringAttachment(
            label,
            transit_gateway_id=tgw.id,
            peer_region=peer.region,
            peer_transit_gateway_id=peer.transit_gateway_id,
            tags=tags(settings, label),
            opts=child,
        )
        accepter = aws.ec2transitgateway.PeeringAttachmentAccepter(
            f"{label}-accepter",
            region=peer.region,
            transit_gateway_attachment_id=peering.id,
            tags=tags(settings, f"{label}-accepter"),
            opts=child,
        )
        # Routes over a peering attachment can only be made once it is available, that is
        # once accepted (docs/pitfalls.md item 11); peering attachments carry static routes only.
        after_accept = pulumi.ResourceOptions(parent=self, depends_on=[accepter])
        sides: tuple[tuple[str, Any, Any, str | None], ...] = (
            ("here", routes.id, peer.vpc_cidr, None),
            ("there", peer.transit_gateway_route_table_id, settings.vpc_cidr, peer.region),
        )
        for side, table_id, cidr, region in sides:
            aws.ec2transitgateway.RouteTableAssociation(
                f"{label}-association-{side}",
                region=region,
                transit_gateway_attachment_id=peering.id,
                transit_gateway_route_table_id=table_id,
                opts=after_accept,
            )
            aws.ec2transitgateway.Route(
                f"{label}-route-{side}",
                region=region,
                destination_cidr_block=cidr,
                transit_gateway_attachment_id=peering.id,
                transit_gateway_route_table_id=table_id,
                opts=after_accept,
            )
        # The peer's private subnets learn this region's CIDR too: the peer was deployed
        # first and does not know this stack exists.
        peer_tables = pulumi.Output.from_input(peer.private_route_table_ids)
        for zone in range(peer.availability_zones):
            aws.ec2.Route(
                f"{label}-az{zone}-return",
                region=peer.region,
                route_table_id=peer_tables[zone],
                destination_cidr_block=settings.vpc_cidr,
                transit_gateway_id=peer.transit_gateway_id,
                opts=after_accept,
            )

    def _on_prem(
        self,
        name: str,
        settings: Settings,
        tgw: aws.ec2transitgateway.TransitGateway,
        routes: aws.ec2transitgateway.RouteTable,
        child: pulumi.ResourceOptions,
    ) -> None:
        """Site-to-site VPN and Direct Connect to on-premises, both learning routes by BGP.

        Each link is associated with the TGW route table and propagates into it what
        on-premises advertises; no on-premises route is static. For the same prefix a
        Transit Gateway prefers a Direct Connect gateway-propagated route to a Site-to-Site
        VPN-propagated one (AWS, "How transit gateways work", route evaluation order:
        https://docs.aws.amazon.com/vpc/latest/tgw/how-transit-gateways-work.html), so with
        both links traffic goes over Direct Connect, and when its BGP session drops the
        routes it propagated are withdrawn and the VPN's take over: the VPN is a real backup.
        A static route would win over both and never fail over.
        """
        on_prem = settings.on_prem
        assert on_prem is not None
        attachments: list[tuple[str, pulumi.Output[str], list[pulumi.Resource]]] = []
        if on_prem.vpn:
            gateway = aws.ec2.CustomerGateway(
                f"{name}-onprem-cgw",
                type="ipsec.1",
                ip_address=on_prem.vpn.customer_gateway_ip,
                bgp_asn=str(on_prem.vpn.bgp_asn),
                tags=tags(settings, f"{name}-onprem-cgw"),
                opts=child,
            )
            vpn = aws.ec2.VpnConnection(
                f"{name}-onprem-vpn",
                type="ipsec.1",
                customer_gateway_id=gateway.id,
                transit_gateway_id=tgw.id,
                # BGP: the customer gateway advertises the on-premises networks, and withdraws
                # them when the tunnels go down.
                static_routes_only=False,
                tags=tags(settings, f"{name}-onprem-vpn"),
                opts=child,
            )
            attachments.append(("vpn", vpn.transit_gateway_attachment_id, [vpn]))
        if on_prem.direct_connect_gateway_id:
            association = aws.directconnect.GatewayAssociation(
                f"{name}-onprem-dx",
                dx_gateway_id=on_prem.direct_connect_gateway_id,
                associated_gateway_id=tgw.id,
                allowed_prefixes=[settings.vpc_cidr],
                opts=child,
            )
            dx_attachment = aws.ec2transitgateway.get_direct_connect_gateway_attachment_output(
                transit_gateway_id=tgw.id,
                dx_gateway_id=on_prem.direct_connect_gateway_id,
                opts=pulumi.InvokeOutputOptions(depends_on=[association]),
            )
            attachments.append(("dx", dx_attachment.id, [association]))

        for kind, attachment_id, made_by in attachments:
            after = pulumi.ResourceOptions(parent=self, depends_on=made_by)
            aws.ec2transitgateway.RouteTableAssociation(
                f"{name}-onprem-{kind}-association",
                transit_gateway_attachment_id=attachment_id,
                transit_gateway_route_table_id=routes.id,
                opts=after,
            )
            aws.ec2transitgateway.RouteTablePropagation(
                f"{name}-onprem-{kind}-propagation",
                transit_gateway_attachment_id=attachment_id,
                transit_gateway_route_table_id=routes.id,
                opts=after,
            )
