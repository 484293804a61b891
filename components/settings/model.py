"""The declaration of every stack file key: its type, bounds, default and meaning, once.

Each key is a field of a pydantic model in strict mode: a YAML number is not a string, a
string is not a boolean (no "yes" for true), a list is a list. ``parse_settings`` validates a
stack file against ``StackConfig``; the README's config table is generated from these fields
(``make docs``); the checks across stack files compare the fields marked ``Everywhere``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from components.settings import aws
from components.settings.values import (
    AS_TUPLE,
    NO_REPEATS,
    Cidr,
    CrmUrl,
    DirectConnectGatewayId,
    Email,
    EngineVersion,
    Hostname,
    IPv4,
    Origin,
    PaymentsUrl,
    Region,
    Says,
    SecretArn,
    StackName,
    StackRef,
    TableArn,
    VpcCidr,
    ZoneId,
)

# Aurora Serverless v2 accepts 0 to 256 ACU in steps of 0.5.
MAX_ACU = 256.0
# Global database members default to 0.5 ACU: auto-pause (0 ACU) behaves differently inside a
# global database, so 0 is only used where the config asks for it (docs/pitfalls.md item 5).
DEFAULT_MIN_ACU = 0.5
DEFAULT_MAX_ACU = 4.0
DEFAULT_ENGINE_VERSION = "16.6"
# How long an instance at 0 ACU stays idle before it pauses: AWS accepts 300 to 86,400 seconds.
DEFAULT_SECONDS_UNTIL_AUTO_PAUSE = 300
# HTTP API stage throttling; an account's regional quota is 10,000 requests a second.
DEFAULT_THROTTLING_RATE = 100.0
DEFAULT_THROTTLING_BURST = 200
MAX_THROTTLING_RATE = 10_000.0
MAX_THROTTLING_BURST = 5_000
# WAF rate-based rules count over 5 minutes and accept 10 to 2,000,000,000.
DEFAULT_WAF_RATE_LIMIT = 2_000
MIN_WAF_RATE_LIMIT = 10
MAX_WAF_RATE_LIMIT = 2_000_000_000
# Why `natGateways: none` is refused rather than deployed: functions in the private subnets call
# AWS APIs that the VPC has no endpoint for, and a provider on the internet.
NO_NAT_PROBLEM = (
    "'none' is not supported: the functions in the private subnets call Secrets Manager, "
    "EventBridge, Step Functions, STS and the payment provider, which they reach only through "
    "a NAT gateway (the VPC has gateway endpoints for DynamoDB and S3 alone); use single or perAz"
)


@dataclass(frozen=True)
class Everywhere:
    """Marks a key that must have the same value in every stack of a deployment, and why
    (``why`` reads after "because")."""

    why: str


class Role(StrEnum):
    """Which part a stack plays in owning the deployment, not which region writes.

    The home stack creates the global resources (the Aurora global cluster, the table the
    global table grew from, the master secret) and owns them for their whole life; a member
    stack joins them. Which region *writes* is run-time state (Aurora's writer and the control
    record), changed by `ops failover` and `ops failback` without touching a stack file.
    """

    HOME = "home"
    MEMBER = "member"


class Environment(StrEnum):
    """Drives deletion protection, retention and capacity defaults."""

    DEV = "dev"
    PROD = "prod"


class NatGateways(StrEnum):
    """How many NAT gateways the VPC gets: one for the region, or one per AZ.

    There is no ``none``: see ``NO_NAT_PROBLEM``.
    """

    SINGLE = "single"
    PER_AZ = "perAz"


class WriteMode(StrEnum):
    """How a member hands a write to the writing region: a signed HTTP call, or its event bus."""

    SYNC = "sync"
    ASYNC = "async"


class GraphqlAuth(StrEnum):
    """The AppSync API's default authorization: an API key, or IAM (SigV4) callers only."""

    API_KEY = "apiKey"
    IAM = "iam"


def problem(key: str, message: str) -> PydanticCustomError:
    """A mistake found by a check across fields of one mapping, naming the key it is about."""
    return PydanticCustomError("config", "{message}", {"message": message, "key": key})


def _refuse_none(value: Any) -> Any:
    if value == "none":
        raise ValueError(NO_NAT_PROBLEM)
    return value


def _short_stack_name(value: Any) -> Any:
    return value.rsplit("/", 1)[-1] if isinstance(value, str) else value


# Enum values arrive as strings: lax mode for an enum only turns a member's value into the member.
LAX = Field(strict=False)


def one_of(kind: type[StrEnum]) -> Says:
    """How the README and the messages describe an enum's values."""
    return Says(" or ".join(f"`{m.value}`" for m in kind))


class ConfigModel(BaseModel):
    """A mapping of a stack file: camelCase keys, strict types, no key it does not declare."""

    model_config = ConfigDict(
        strict=True, frozen=True, extra="forbid", alias_generator=to_camel, validate_default=False
    )


class DatabaseSettings(ConfigModel):
    """Aurora Serverless v2 capacity (ACU) and engine version."""

    min_capacity: float = Field(
        default=DEFAULT_MIN_ACU,
        ge=0,
        le=MAX_ACU,
        multiple_of=0.5,
        description="the least capacity in ACU; 0 (auto-pause) only when asked, on an engine "
        "version with auto-pause (13.15, 14.12, 15.7, 16.3, 17.4 or later in its major version)",
    )
    max_capacity: float = Field(
        default=DEFAULT_MAX_ACU,
        gt=0,
        le=MAX_ACU,
        multiple_of=0.5,
        description="the most capacity in ACU, at least minCapacity",
    )
    engine_version: Annotated[
        EngineVersion,
        Everywhere(
            "every stack joins one Aurora global cluster, whose members run one engine version"
        ),
    ] = Field(
        default=DEFAULT_ENGINE_VERSION,
        description="the Aurora PostgreSQL version, major.minor and quoted: YAML reads 16.10 as "
        "the number 16.1",
    )
    seconds_until_auto_pause: int = Field(
        default=DEFAULT_SECONDS_UNTIL_AUTO_PAUSE,
        ge=300,
        le=86_400,
        description="with minCapacity 0: how long an idle instance waits before it pauses",
    )

    @property
    def auto_pause(self) -> bool:
        """True when the config asks for 0 ACU: instances pause when idle."""
        return self.min_capacity == 0

    @model_validator(mode="after")
    def _capacities(self) -> DatabaseSettings:
        if self.min_capacity > self.max_capacity:
            raise problem(
                "minCapacity",
                f"{self.min_capacity:g} is above maxCapacity {self.max_capacity:g}",
            )
        if self.auto_pause and not aws.supports_auto_pause(self.engine_version):
            raise problem(
                "minCapacity",
                f"0 ACU (auto-pause) needs Aurora PostgreSQL {aws.auto_pause_versions()} or "
                f"later in its major version, not {self.engine_version}",
            )
        return self


class DomainSettings(ConfigModel):
    """Custom domains: the hosted zone, the latency-routed API name and the public name."""

    zone_id: ZoneId = Field(description="the Route 53 hosted zone that holds both names")
    api_hostname: Hostname = Field(
        description="the API's name: one latency record per region, with a health check"
    )
    public_hostname: Hostname = Field(
        description="the name CloudFront answers on (the home stack's distribution)"
    )

    @model_validator(mode="after")
    def _two_names(self) -> DomainSettings:
        if self.api_hostname == self.public_hostname:
            raise problem(
                "publicHostname",
                f"{self.public_hostname} is apiHostname too: Route 53 cannot hold both the "
                "latency records and CloudFront's alias under one name",
            )
        return self


class EdgeSettings(ConfigModel):
    """The public edge: CORS, HTTP API throttling, AppSync's default auth, the WAF."""

    cors_origins: Annotated[
        tuple[Origin, ...],
        AS_TUPLE,
        NO_REPEATS,
        Everywhere("a client reaches whichever region answers it, so every region allows it"),
        Says("a list of origins"),
    ] = Field(
        default=(),
        description='browser origins allowed to call the HTTP API (`["*"]` for any); empty: '
        "no CORS headers",
    )
    throttling_rate_limit: float = Field(
        default=DEFAULT_THROTTLING_RATE,
        gt=0,
        le=MAX_THROTTLING_RATE,
        description="steady requests a second, per stage, for every HTTP and WebSocket route",
    )
    throttling_burst_limit: int = Field(
        default=DEFAULT_THROTTLING_BURST,
        ge=1,
        le=MAX_THROTTLING_BURST,
        description="the burst above that rate",
    )
    graphql_auth: Annotated[GraphqlAuth, LAX, one_of(GraphqlAuth)] = Field(
        default=GraphqlAuth.API_KEY,
        description="AppSync's default auth; IAM is always accepted, and `publishOrderUpdate` "
        "is IAM-only",
    )
    waf: bool = Field(
        default=False,
        description="a WAF on CloudFront with AWS managed rules and a per-IP limit (the home "
        "stack, with `domain`, only)",
    )
    waf_rate_limit: int = Field(
        default=DEFAULT_WAF_RATE_LIMIT,
        ge=MIN_WAF_RATE_LIMIT,
        le=MAX_WAF_RATE_LIMIT,
        description="requests one IP may make in any 5 minutes before the WAF blocks it",
    )

    @model_validator(mode="after")
    def _star_alone(self) -> EdgeSettings:
        if "*" in self.cors_origins and len(self.cors_origins) > 1:
            raise problem("corsOrigins", "'*' allows every origin; list it alone")
        return self


class VpnSettings(ConfigModel):
    """A site-to-site VPN to an on-premises customer gateway."""

    customer_gateway_ip: IPv4 = Field(description="the customer gateway's public IPv4 address")
    bgp_asn: int = Field(
        ge=1,
        le=2_147_483_647,
        description="the customer gateway's BGP ASN (AWS takes 1 to 2,147,483,647 here)",
    )


class OnPremSettings(ConfigModel):
    """On-premises networks and how to reach them: a VPN, a Direct Connect gateway, or both."""

    cidrs: Annotated[
        tuple[Cidr, ...], AS_TUPLE, NO_REPEATS, Field(min_length=1), Says("a list of IPv4 CIDRs")
    ] = Field(
        description="the on-premises networks, routed to the Transit Gateway; none may lie "
        "within a stack's VPC CIDR (a wider range, such as 10.0.0.0/8, is fine)"
    )
    vpn: VpnSettings | None = Field(default=None, description="a BGP site-to-site VPN")
    direct_connect_gateway_id: DirectConnectGatewayId | None = Field(
        None, description="a Direct Connect gateway to associate with the Transit Gateway"
    )
    crm_url: CrmUrl | None = Field(
        default=None,
        description="the on-premises CRM endpoint the saga's UpdateCustomer step notifies; "
        "without it no CRM is called",
    )

    @model_validator(mode="after")
    def _a_link(self) -> OnPremSettings:
        if self.vpn is None and self.direct_connect_gateway_id is None:
            raise problem("", "needs a vpn, a directConnectGatewayId, or both")
        return self


class AdoptedSettings(ConfigModel):
    """What a home stack took over from a home stack whose region was lost for good.

    Written by `ops rehome`. The adopting stack keeps its own cluster and table replica as
    they were, imports the global cluster, and tells the members the global table and master
    secret they joined, which lived in the lost region and stay there, unmanaged.
    """

    from_stack: Annotated[StackName, BeforeValidator(_short_stack_name)] = Field(
        description="the lost home stack: the global resources it owned keep their names"
    )
    table_arn: TableArn = Field(
        description="the DynamoDB table the global table grew from, as every replica names it"
    )
    master_secret_arn: SecretArn = Field(
        description="this region's replica of the lost home's master secret"
    )


class PaymentSettings(ConfigModel):
    """The payment provider the checkout saga calls; its API key lives in a secret."""

    # None: the stack deploys, and the saga's payment steps fail every order with
    # PaymentNotConfigured, naming this key, instead of calling a made-up provider.
    base_url: PaymentsUrl | None = Field(
        default=None,
        description="the payment provider's URL; the saga appends `/v1/...`",
        json_schema_extra={"default_shown": "required"},
    )

    @model_validator(mode="after")
    def _a_url(self) -> PaymentSettings:
        if self.base_url is None:
            raise problem("baseUrl", "missing: the payment provider's https:// URL")
        return self


class StackConfig(ConfigModel):
    """Every key of one stack file, as declared: ``aws:region`` and the project's keys."""

    region: Region = Field(alias="aws:region", description="the stack's region")
    role: Annotated[Role, LAX, one_of(Role)] = Field(
        description="exactly one stack is the home stack, which creates the global resources "
        "(Aurora global cluster, the table the global table grew from, the master secret) and "
        "owns them for good. It says nothing about which region writes: that is run-time "
        "state, changed by `ops failover` / `ops failback`, never by a stack file. The old "
        "words `primary` / `secondary` are refused with the new ones"
    )
    vpc_cidr: VpcCidr = Field(
        description="the region's VPC CIDR; must not overlap any other stack's, and no "
        "`onPrem.cidrs` may lie within it"
    )
    home_stack: StackRef | None = Field(
        default=None,
        description="members: required; the home stack, which must have `role: home`; the home "
        "stack must not set it (was `primaryStack`, now refused by name)",
    )
    peer_stacks: Annotated[
        tuple[StackRef, ...], AS_TUPLE, NO_REPEATS, Says("a list of stack names")
    ] = Field(
        default=(),
        description="stacks deployed before this one; this stack peers its Transit Gateway with "
        "each. Every two stacks are peered once, by the later one (full mesh)",
    )
    replica_stacks: Annotated[
        tuple[StackRef, ...], AS_TUPLE, NO_REPEATS, Says("a list of stack names")
    ] = Field(
        default=(),
        description="home stack only: every member stack, exactly; each gets the lake's S3 "
        "replication and a replica of the master secret (converge pass)",
    )
    environment: Annotated[
        Environment,
        LAX,
        one_of(Environment),
        Everywhere(
            "a deployment is dev or prod as a whole: its protection and retention go together"
        ),
    ] = Field(
        default=Environment.DEV, description="deletion protection, retention, capacity defaults"
    )
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings,
        description="Aurora Serverless v2 capacity (0 to 256 ACU in steps of 0.5) and version",
    )
    domain: Annotated[
        DomainSettings | None,
        Everywhere(
            "the API name is one latency record over every region, in one zone, and the "
            "CloudFront alias moves to whichever stack is home"
        ),
    ] = Field(default=None, description="custom domains, latency records, CloudFront alias")
    legacy_origin: Hostname | None = Field(
        default=None,
        description="the legacy API's host name; CloudFront sends every path not yet migrated "
        "there",
    )
    edge: EdgeSettings = Field(default_factory=EdgeSettings, description="the public edge")
    on_prem: OnPremSettings | None = Field(
        None, description="on-premises networks, reached over a VPN, Direct Connect, or both"
    )
    availability_zones: int = Field(
        default=2, ge=2, le=6, description="AZs for the VPC's private and public subnets"
    )
    nat_gateways: Annotated[
        NatGateways,
        LAX,
        one_of(NatGateways),
        BeforeValidator(_refuse_none),
    ] = Field(
        default=NatGateways.SINGLE,
        description="one NAT gateway, or one per AZ. `none` is refused: the functions in the "
        "private subnets call Secrets Manager, EventBridge, Step Functions, STS and the "
        "payment provider, and the VPC has gateway endpoints for DynamoDB and S3 only",
    )
    write_mode: Annotated[WriteMode, LAX, one_of(WriteMode)] = Field(
        default=WriteMode.SYNC,
        description="how a member hands writes to the writing region: `sync` (signed HTTP) or "
        "`async` (event bus)",
    )
    write_forwarding: bool = Field(
        default=False, description="Aurora global write forwarding on member clusters"
    )
    payments: PaymentSettings = Field(
        default_factory=PaymentSettings.model_construct,
        json_schema_extra={"default_shown": "none"},
        description="the payment provider. Without it the stack deploys, and every order fails "
        "at AuthorizePayment with `PaymentNotConfigured` (nothing is charged). The API key is "
        "not config: each stack creates an empty secret `active-active/<stack>/payment-api-key`;"
        " set it per region with `aws secretsmanager put-secret-value --region <region> "
        "--secret-id active-active/<stack>/payment-api-key --secret-string <key>`, no redeploy "
        "needed",
    )
    alarm_email: Email | None = Field(
        default=None,
        description="subscribed to the region's alarm topic `active-active-<stack>-alarms`, "
        "which every alarm notifies; AWS mails a confirmation link per region. Without it the "
        "topic has no subscriber: subscribe a pager or chat integration yourself",
    )
    adopted: AdoptedSettings | None = Field(
        default=None,
        description="home stack only, written by `python -m ops rehome`: what this stack took "
        "over from a home stack whose region was lost for good (docs/operations.md). Not "
        "written by hand",
    )

    @model_validator(mode="after")
    def _roles(self) -> StackConfig:
        if self.role is Role.MEMBER and self.home_stack is None:
            raise problem("homeStack", "a member stack must name the home stack")
        if self.role is Role.HOME and self.home_stack is not None:
            raise problem("homeStack", "the home stack must not name a home stack")
        if self.role is Role.MEMBER and self.replica_stacks:
            raise problem("replicaStacks", "only the home stack replicates its lake bucket")
        if self.role is Role.MEMBER and self.adopted is not None:
            raise problem("adopted", "only a home stack adopts (written by `ops rehome`)")
        dx = self.on_prem.direct_connect_gateway_id if self.on_prem else None
        if dx is not None:
            trouble = aws.region_problem(self.region, direct_connect=True)
            if trouble is not None:
                raise problem("onPrem.directConnectGatewayId", trouble)
        return self


class Settings(StackConfig):
    """Everything one stack needs to know about itself and the stacks it references."""

    stack: str
    # The settings of every stack this one references, read from their stack files, so that
    # facts a resource count depends on (a peer's region, CIDR, zones) are known up front.
    peers: tuple[Settings, ...] = ()
    # Where each key is written in the stack file, so that a later check can name the line.
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    @property
    def is_home(self) -> bool:
        """True in the stack that owns the global resources."""
        return self.role is Role.HOME

    @property
    def is_prod(self) -> bool:
        """True where deletion protection and long retention apply."""
        return self.environment is Environment.PROD

    def peer(self, stack: str) -> Settings:
        """The settings of a referenced stack, by short or fully qualified name."""
        for peer in self.peers:
            if peer.stack == stack.rsplit("/", 1)[-1]:
                return peer
        raise KeyError(f"{stack} is not referenced by {self.stack}")

    def referenced_stacks(self) -> tuple[str, ...]:
        """Every stack this one reads outputs from, the home stack first, without repeats."""
        names = [self.home_stack, *self.peer_stacks, *self.replica_stacks]
        return tuple(dict.fromkeys(n for n in names if n))

    @property
    def lines(self) -> dict[str, int]:
        """Where each key of this stack's file is written (key to line), for locating a mistake."""
        return self._lines


Settings.model_rebuild()
