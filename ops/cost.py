"""What a deployment costs a month: the offline plan, priced at a usage profile and a price table.

`python -m ops cost` takes the document `ops plan --json` prints (each stack as of its last
pass, so the converged deployment), the usage profile in ``usage.yaml`` and the dated, sourced
prices in ``ops/prices.json``, and gives one line per thing billed: which resource, what, how
much of it, at which price of which region. Everything here is a pure function of those three.

Every resource type the plan can hold is either in RULES, a function that says what the
resource is billed for, or in FREE, with the reason it is not billed on its own (its cost is
counted with another resource, or AWS charges nothing for it). A type in neither is an error:
a new kind of resource cannot slip out of the estimate unnoticed. A region without a price is
an error too, naming the region: a price is never borrowed from another region.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from functions.orders import events
from ops.deployed import HOME_ROLES
from ops.stackfiles import DeploymentError

OPS_DIR = Path(__file__).resolve().parent
PRICES_FILE = OPS_DIR / "prices.json"
USAGE_FILE = OPS_DIR.parent / "usage.yaml"
# Where the prices of global services live in the price table.
GLOBAL = "global"
GB = 1024 * 1024 * 1024
# Serverless v2 capacity of an instance that is not paused: its smallest step above 0.
AWAKE_ACU = 0.5

# What the summary adds up, by the service a price belongs to.
CATEGORIES = {
    "Amazon VPC": "network",
    "AWS Transit Gateway": "network",
    "AWS Site-to-Site VPN": "network",
    "Data transfer": "network",
    "Amazon Aurora": "aurora",
    "Amazon DynamoDB": "dynamodb",
    "AWS Lambda": "compute",
    "AWS Step Functions": "compute",
    "Amazon EventBridge": "compute",
    "Amazon SQS": "compute",
    "Amazon Data Firehose": "compute",
    "Amazon API Gateway": "api",
    "AWS AppSync": "api",
    "Amazon CloudFront": "api",
    "AWS WAF": "api",
    "Amazon Route 53": "api",
    "Amazon CloudWatch": "monitoring",
    "AWS X-Ray": "monitoring",
    "Amazon S3": "other",
    "Amazon Athena": "other",
    "AWS KMS": "other",
    "AWS Secrets Manager": "other",
}
CATEGORY_ORDER = ("network", "aurora", "dynamodb", "compute", "api", "monitoring", "other")

# What an estimate leaves out, said with every estimate.
NOT_INCLUDED = (
    "free tiers, volume tiers, Savings Plans, credits, support and taxes",
    "the Route 53 hosted zone and DNS queries (the zone is not in the plan; alias queries "
    "to CloudFront and API Gateway are free)",
    "Direct Connect ports and their data transfer, and data over the VPN (outside the plan)",
    "Aurora backup storage beyond the free allowance, and the inter-region transfer of "
    "global database replication",
    "CloudWatch log storage, API Gateway detailed route metrics and custom metrics",
    "deploy-time work (the migrator's run, Lambda code and layer storage) and traffic "
    "between Availability Zones",
)


class CostError(DeploymentError):
    """The estimate cannot be made as asked: a price, a rule or a usage figure is missing."""


# -- prices -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """One price of one region, with where it comes from."""

    key: str
    region: str
    usd: float
    per: float
    unit: str
    service: str
    source: str | None
    as_of: str
    sourced: bool

    def cost(self, quantity: float) -> float:
        """What ``quantity`` units cost."""
        return quantity / self.per * self.usd


class PriceTable:
    """The dated, sourced prices of ``ops/prices.json``, looked up by key and region."""

    def __init__(self, document: Mapping[str, Any], origin: str = "ops/prices.json") -> None:
        self.origin = origin
        try:
            self.as_of = str(document["asOf"])
            self.hours = float(document["hoursPerMonth"])
            self.entries: Mapping[str, Any] = document["prices"]
        except (KeyError, TypeError, ValueError) as error:
            raise CostError(f"{origin}: not a price table ({error})") from None

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> PriceTable:
        """The price table in ``path``."""
        try:
            document = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise CostError(f"{path}: {error}") from None
        return cls(document, _display(path))

    def price(self, key: str, region: str) -> Price:
        """The price ``key`` in ``region``; a region without one is an error naming it."""
        entry = self.entries.get(key)
        if entry is None:
            raise CostError(f"{self.origin} has no price {key!r}")
        value = entry["regions"].get(region)
        if value is None:
            raise CostError(
                f"no price for region {region} in {self.origin} ({key}: {entry['unit']}); "
                f"add {region} to every entry, with its source: ops cost never uses another "
                "region's price"
            )
        detail = value if isinstance(value, Mapping) else {"usd": value}
        source = detail.get("source", entry.get("source"))
        return Price(
            key=key,
            region=region,
            usd=float(detail["usd"]),
            per=float(entry["per"]),
            unit=str(entry["unit"]),
            service=str(entry["service"]),
            source=source,
            as_of=str(detail.get("asOf", entry["asOf"])),
            sourced=bool(detail.get("sourced", source is not None)),
        )


# -- usage --------------------------------------------------------------------------------

# The sections `--idle` zeroes: what users do and what they leave stored.
IDLE_SECTIONS = ("traffic", "stored")
# Figures that are shares of something, so at most 1.
SHARES = ("traffic.graphqlShare", "traffic.appsyncShare", "lambda.tracedShare")


class Usage:
    """A usage profile: the project's ``usage.yaml``, optionally overridden by another file."""

    def __init__(self, values: Mapping[str, Any], origin: str, idle: bool = False) -> None:
        self.values = values
        self.origin = origin
        self.is_idle = idle
        _check_usage(values, origin)

    @classmethod
    def load(cls, path: Path | None = None, idle: bool = False) -> Usage:
        """The project's profile, with ``path`` (if another file) laid over it."""
        values = _read_yaml(USAGE_FILE)
        origin = _display(USAGE_FILE)
        if path is not None and Path(path).resolve() != USAGE_FILE.resolve():
            values = _overlay(values, _read_yaml(Path(path)), _display(path))
            origin = _display(path)
        usage = cls(values, origin)
        return usage.idle() if idle else usage

    def idle(self) -> Usage:
        """The same profile with no traffic and nothing stored; what runs anyway stays."""
        values = dict(self.values)
        for section in IDLE_SECTIONS:
            values[section] = {
                k: ({} if isinstance(v, Mapping) else 0) for k, v in values[section].items()
            }
        return Usage(values, self.origin, idle=True)

    def __call__(self, dotted: str) -> float:
        """The figure at ``section.key``."""
        node: Any = self.values
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise CostError(f"{self.origin} has no {dotted}")
            node = node[part]
        return float(node)

    def split(self) -> Mapping[str, float]:
        """Traffic weights by stack name; a stack not named weighs 1."""
        return {str(k): float(v) for k, v in (self.values.get("split") or {}).items()}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise CostError(f"{path}: {error}") from None
    if not isinstance(document, dict):
        raise CostError(f"{path}: expected a mapping of sections")
    return document


def _overlay(base: Mapping[str, Any], override: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """``override`` laid over ``base``; a key ``base`` does not have is refused (a typo)."""
    merged = dict(base)
    for key, value in override.items():
        if key == "split":
            merged[key] = value or {}
        elif key not in base:
            raise CostError(f"{origin}: unknown usage key {key!r} (see {_display(USAGE_FILE)})")
        elif isinstance(base[key], Mapping):
            if not isinstance(value, Mapping):
                raise CostError(f"{origin}: {key} must be a mapping")
            merged[key] = _overlay(base[key], value, f"{origin}: {key}")
        else:
            merged[key] = value
    return merged


def _check_usage(values: Mapping[str, Any], origin: str, prefix: str = "") -> None:
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key == "split" and not prefix:
            if not isinstance(value, Mapping | type(None)):
                raise CostError(f"{origin}: split must map stack names to weights")
            for stack, weight in (value or {}).items():
                _check_number(weight, f"split.{stack}", origin)
        elif isinstance(value, Mapping):
            _check_usage(value, origin, f"{path}.")
        else:
            _check_number(value, path, origin)
            if path in SHARES and float(value) > 1:
                raise CostError(f"{origin}: {path} is a share, at most 1 (got {value})")


def _check_number(value: Any, path: str, origin: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise CostError(f"{origin}: {path} must be a number, not negative (got {value!r})")


# -- what each stack serves ---------------------------------------------------------------


@dataclass(frozen=True)
class Traffic:
    """What one stack serves in a month under the profile."""

    share: float
    orders: float  # orders taken in this region (HTTP and AppSync)
    reads: float
    subscriptions: float
    minutes: float
    notifications: float
    egress_gb: float
    inter_region_gb: float
    nat_gb: float
    athena_tb: float
    saga_orders: float  # orders whose saga runs here: all of them, in the home stack
    forwarded_in: float  # orders other regions forward here over HTTP (sync mode)
    async_in: float  # orders other regions send here over the bus (async mode)
    async_out: float  # orders this region sends the home stack over the bus (async mode)
    domain_events: float  # events the saga publishes on this region's bus
    changes: float  # changes to order views this region's notifier handles
    probes: float  # health-check requests this region's API answers
    busy: bool  # whether the profile has any traffic at all


def _write_mode(stack: Mapping[str, Any]) -> str:
    for resource in stack["resources"]:
        if resource["type"] == LAMBDA and ".write_api." in str(resource["inputs"].get("handler")):
            variables = (resource["inputs"].get("environment") or {}).get("variables") or {}
            return str(variables.get("WRITE_MODE", "sync"))
    return "sync"


def home_stack(document: Mapping[str, Any]) -> str | None:
    """The stack that owns the global resources, where writes and the saga run."""
    return next((n for n, s in document["stacks"].items() if s.get("role") in HOME_ROLES), None)


def traffic_by_stack(document: Mapping[str, Any], usage: Usage) -> dict[str, Traffic]:
    """Each stack's share of the profile's traffic, and what the deployment does with it."""
    stacks = document["stacks"]
    split = usage.split()
    unknown = sorted(set(split) - set(stacks))
    if unknown:
        raise CostError(f"{usage.origin}: split names no stack {', '.join(unknown)}")
    weights = {name: split.get(name, 1.0) for name in stacks}
    total_weight = sum(weights.values()) or 1.0
    home = home_stack(document)
    orders = usage("traffic.orders")
    busy = any(
        usage(f"traffic.{k}") > 0 for k in ("orders", "reads", "subscriptions", "notifications")
    )
    landing = {name: orders * weights[name] / total_weight for name in stacks}
    by_bus = {
        name: (landing[name] if name != home and _write_mode(stacks[name]) == "async" else 0.0)
        for name in stacks
    }
    over_http = {name: landing[name] - by_bus[name] for name in stacks if name != home}
    probes_each = usage("background.healthCheckRequests")
    result = {}
    for name, stack in stacks.items():
        share = weights[name] / total_weight
        is_home = name == home
        health_checks = sum(1 for r in stack["resources"] if r["type"] == HEALTH_CHECK)
        result[name] = Traffic(
            share=share,
            orders=landing[name],
            reads=usage("traffic.reads") * share,
            subscriptions=usage("traffic.subscriptions") * share,
            minutes=usage("traffic.subscriptionMinutes") * share,
            notifications=usage("traffic.notifications") * share,
            egress_gb=usage("traffic.egressGB") * share,
            inter_region_gb=usage("traffic.interRegionGB") if len(stacks) > 1 else 0.0,
            nat_gb=usage("traffic.natGB"),
            athena_tb=usage("traffic.athenaTB"),
            saga_orders=orders if is_home else 0.0,
            forwarded_in=sum(over_http.values()) if is_home else 0.0,
            async_in=sum(by_bus.values()) if is_home else 0.0,
            async_out=by_bus[name],
            domain_events=orders * usage("perOrder.domainEvents") if is_home else 0.0,
            changes=orders * usage("perOrder.viewUpdates"),
            probes=health_checks * probes_each,
            busy=busy,
        )
    return result


# -- the view a rule gets -----------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    """What rules need to know beyond their own stack."""

    document: Mapping[str, Any]
    usage: Usage
    prices: PriceTable
    home: str | None
    traffic: Mapping[str, Traffic]

    @property
    def orders(self) -> float:
        """Orders a month, all regions."""
        return self.usage("traffic.orders")

    @property
    def has_distribution(self) -> bool:
        """Whether clients reach the APIs through CloudFront."""
        return any(
            r["type"] == DISTRIBUTION
            for s in self.document["stacks"].values()
            for r in s["resources"]
        )

    def client_requests(self) -> float:
        """HTTP API requests from clients, all regions: what CloudFront and its WAF see."""
        http = 1 - self.usage("traffic.graphqlShare")
        return sum((t.orders + t.reads) * http for t in self.traffic.values())


@dataclass(frozen=True)
class StackView:
    """One stack of the plan, with its traffic, as a rule sees it."""

    name: str
    region: str
    role: str
    resources: list[dict[str, Any]]
    outputs: Mapping[str, Any]
    traffic: Traffic
    deployment: Deployment

    @property
    def usage(self) -> Usage:
        """The profile."""
        return self.deployment.usage

    @property
    def hours(self) -> float:
        """Hours in a month, as the price table counts them."""
        return self.deployment.prices.hours

    @property
    def is_home(self) -> bool:
        """Whether this is the home stack (its Aurora cluster writes)."""
        return self.name == self.deployment.home

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        """This stack's resources of one type."""
        return [r for r in self.resources if r["type"] == type_]

    def saga_functions(self) -> set[str]:
        """Names of the functions an order that succeeds runs, from the state machines."""
        names: set[str] = set()
        for machine in self.of_type(STATE_MACHINE):
            definition = json.loads(machine["inputs"]["definition"])
            for state in happy_path(definition):
                resource = str(definition["States"][state].get("Resource", ""))
                if ":function:" in resource:
                    names.add(resource.rsplit(":function:", 1)[1].split(":")[0])
        return names


def happy_path(definition: Mapping[str, Any]) -> list[str]:
    """The states an execution that succeeds enters, from StartAt along Next to the end."""
    states = definition["States"]
    path: list[str] = []
    name: str | None = definition["StartAt"]
    while name is not None:
        if name in path:
            raise CostError(f"the state machine loops back to {name}: no path to its end")
        state = states[name]
        if state.get("Type") == "Choice":
            raise CostError(f"state {name} is a Choice: the happy path cannot be followed")
        path.append(name)
        if state.get("Type") in ("Succeed", "Fail") or state.get("End"):
            break
        name = state.get("Next")
    return path


# -- what is billed -----------------------------------------------------------------------


@dataclass(frozen=True)
class Charge:
    """What a rule says a resource is billed for: a quantity of a priced unit."""

    item: str
    quantity: float
    price: str
    region: str | None = None  # where it is priced; the resource's own region when None


@dataclass(frozen=True)
class Line:
    """One priced charge of one resource of one stack."""

    stack: str
    resource: str
    type: str
    item: str
    quantity: float
    price: Price

    @property
    def monthly(self) -> float:
        """USD a month."""
        return self.price.cost(self.quantity)

    @property
    def category(self) -> str:
        """The summary column it adds to."""
        return CATEGORIES.get(self.price.service, "other")

    def to_json(self) -> dict[str, Any]:
        """The shape `ops cost --json` prints for a line."""
        return {
            "resource": self.resource,
            "type": self.type,
            "item": self.item,
            "service": self.price.service,
            "category": self.category,
            "quantity": self.quantity,
            "unit": self.price.unit,
            "price": {
                "key": self.price.key,
                "region": self.price.region,
                "usd": self.price.usd,
                "per": self.price.per,
                "source": self.price.source,
                "asOf": self.price.as_of,
                "sourced": self.price.sourced,
            },
            "monthly": round(self.monthly, 6),
        }


Rule = Callable[[StackView, dict[str, Any]], list[Charge]]

LAMBDA = "aws:lambda/function:Function"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
AURORA_CLUSTER = "aws:rds/cluster:Cluster"
FIREHOSE = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
STAGE = "aws:apigatewayv2/stage:Stage"


def _inputs(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    return resource.get("inputs") or {}


def _region_of_arn(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


def _vpc(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """awsx Vpc: its NAT gateways (one, or one per AZ), their public IPv4 addresses, data."""
    nat = (_inputs(r).get("natGateways") or {}).get("strategy", "OnePerAz")
    zones = int(_inputs(r).get("numberOfAvailabilityZones", 3))
    count = {"None": 0, "Single": 1, "OnePerAz": zones}.get(nat)
    if count is None:
        raise CostError(f"{view.name}: {r['name']}: NAT strategy {nat!r} has no price rule")
    if not count:
        return []
    return [
        Charge(f"NAT gateway-hours ({count} NAT gateway{'s' * (count > 1)})",
               count * view.hours, "natGatewayHour"),
        Charge("public IPv4 address-hours of the NAT gateways", count * view.hours,
               "publicIpv4Hour"),
        Charge("GB through the NAT gateways", view.traffic.nat_gb, "natGatewayGB"),
    ]  # fmt: skip


def _vpc_attachment(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """TGW VPC attachment: its hours, and what the VPC sends to other regions through it."""
    gb = view.traffic.inter_region_gb
    return [
        Charge("VPC attachment-hours", view.hours, "tgwAttachmentHour"),
        Charge("GB into the Transit Gateway, to other regions", gb, "tgwDataGB"),
        Charge("GB sent to other regions", gb, "interRegionTransferGB"),
    ]


def _peering(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """TGW peering, requester side: the attachment's hours on this stack's TGW."""
    peer = _inputs(r).get("peerRegion", "?")
    return [Charge(f"peering attachment-hours (to {peer})", view.hours, "tgwAttachmentHour")]


def _peering_accepter(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """TGW peering, accepter side: billed again, to the peer's TGW, in the peer's region."""
    return [Charge("peering attachment-hours, accepter side", view.hours, "tgwAttachmentHour")]


def _vpn(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Site-to-Site VPN on the TGW: the connection's hours and the TGW attachment's."""
    return [
        Charge("VPN connection-hours", view.hours, "vpnConnectionHour"),
        Charge("VPN attachment-hours", view.hours, "tgwAttachmentHour"),
    ]


def _dx_association(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Direct Connect gateway on the TGW: the attachment's hours (ports are outside the plan)."""
    return [Charge("Direct Connect gateway attachment-hours", view.hours, "tgwAttachmentHour")]


def _vpc_endpoint(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Gateway endpoints (DynamoDB, S3) cost nothing; interface endpoints have no rule yet."""
    kind = _inputs(r).get("vpcEndpointType", "Gateway")
    if kind != "Gateway":
        raise CostError(
            f"{view.name}: {r['name']}: {kind} VPC endpoints have no price rule in ops/cost.py"
        )
    return []


def _cluster_of(view: StackView, instance: dict[str, Any]) -> dict[str, Any]:
    clusters = view.of_type(AURORA_CLUSTER)
    named = [c for c in clusters if c["urn"] in (instance.get("dependsOn") or [])]
    found = named or clusters
    if len(found) != 1:
        raise CostError(f"{view.name}: {instance['name']}: cannot tell which cluster it is in")
    return found[0]


def _aurora_instance(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Serverless v2 instance: ACU-hours at its minimum idle, at the profile's average busy."""
    kind = _inputs(r).get("instanceClass")
    if kind != "db.serverless":
        raise CostError(f"{view.name}: {r['name']}: instance class {kind} has no price rule")
    scaling = _inputs(_cluster_of(view, r)).get("serverlessv2ScalingConfiguration") or {}
    low = float(scaling.get("minCapacity", 0.5))
    high = float(scaling.get("maxCapacity", low))
    wanted = view.usage("database.writerACU" if view.is_home else "database.readerACU")
    if view.traffic.busy:
        acu = min(max(wanted, low), high)
        return [Charge(f"ACU-hours ({acu:g} ACU on average)", acu * view.hours, "auroraAcuHour")]
    # Idle, an instance sits at its minimum; 0 is paused, which bills nothing, unless what
    # connects more often than the pause timeout keeps it awake at its smallest step.
    pause = float(scaling.get("secondsUntilAutoPause", 300)) / 60
    wakers = _wakers(view, pause) if low == 0 else []
    if wakers:
        return [
            Charge(f"ACU-hours ({AWAKE_ACU:g} ACU: kept from pausing by {', '.join(wakers)})",
                   AWAKE_ACU * view.hours, "auroraAcuHour"),
        ]  # fmt: skip
    return [Charge(f"ACU-hours ({low:g} ACU, its minimum)", low * view.hours, "auroraAcuHour")]


def _wakers(view: StackView, pause_minutes: float) -> list[str]:
    """What in the stack connects to the database more often than the cluster pauses."""
    wakers = ["the health checks"] if view.traffic.probes else []
    for function in view.of_type(LAMBDA):
        variables = (_inputs(function).get("environment") or {}).get("variables") or {}
        if not {"DB_HOST", "DB_READER_HOST"} & set(variables):
            continue
        intervals = _schedules(view, function)
        if intervals and min(intervals) < pause_minutes:
            wakers.append(f"{function['name']} every {min(intervals):g} min")
    return wakers


def _aurora_cluster(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Aurora cluster: its storage; I/O in the writer; replicated write I/O in each member."""
    charges = [
        Charge("GB-months of storage", view.usage("stored.auroraGB"), "auroraStorageGBMonth")
    ]
    orders = view.deployment.orders
    if view.is_home:
        ios = view.traffic.saga_orders * view.usage("perOrder.auroraIOs")
        charges.append(Charge("I/O requests", ios, "auroraIoMillion"))
    elif _inputs(r).get("globalClusterIdentifier"):
        writes = orders * view.usage("perOrder.auroraWriteIOs")
        charges.append(Charge("replicated write I/Os", writes, "auroraReplicatedWriteIoMillion"))
    return charges


def _table_role(view: StackView, r: dict[str, Any]) -> str:
    """Which of the stack's tables this is, from the table names the stack exports."""
    roles = {
        "tableName": "views",
        "connectionsTableName": "connections",
        "idempotencyTableName": "idempotency",
    }
    for output, role in roles.items():
        physical = str(view.outputs.get(output) or "")
        if physical == r["name"] or physical.startswith(f"{r['name']}-"):
            return role
    raise CostError(
        f"{view.name}: table {r['name']} is none of the tables the stack exports "
        "(tableName, connectionsTableName, idempotencyTableName): give it a usage in ops/cost.py"
    )


def _table_requests(view: StackView, role: str) -> tuple[float, float]:
    """Write and read request units a month of one of the stack's tables."""
    t, u = view.traffic, view.usage
    if role == "views":
        # Every health probe reads the table once, eventually consistent.
        reads = t.reads * u("perRead.readUnits") + t.probes * 0.5
        return view.deployment.orders * u("perOrder.viewWriteUnits"), reads
    if role == "connections":
        return t.subscriptions * u("perSubscription.writeUnits"), t.changes * u(
            "perChange.readUnits"
        )
    return t.changes * u("perChange.writeUnits"), 0.0


def _on_demand(view: StackView, r: dict[str, Any]) -> None:
    if _inputs(r).get("billingMode", "PROVISIONED") != "PAY_PER_REQUEST":
        raise CostError(f"{view.name}: {r['name']}: only on-demand tables have a price rule")


def _table(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """DynamoDB table (on-demand): writes, reads, storage, PITR; the global table's source."""
    _on_demand(view, r)
    role = _table_role(view, r)
    writes, reads = _table_requests(view, role)
    stored = view.usage("stored.dynamodbGB") if role == "views" else 0.0
    charges = [
        Charge(f"write request units ({role})", writes, "dynamodbWriteMillion"),
        Charge(f"read request units ({role})", reads, "dynamodbReadMillion"),
        Charge(f"GB-months stored ({role})", stored, "dynamodbStorageGBMonth"),
    ]
    if (_inputs(r).get("pointInTimeRecovery") or {}).get("enabled"):
        charges.append(Charge(f"GB-months of PITR ({role})", stored, "dynamodbPitrGBMonth"))
    return charges


def _table_replica(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Global table replica: every write replicated here, this region's reads, its copy."""
    writes, reads = _table_requests(view, "views")
    stored = view.usage("stored.dynamodbGB")
    charges = [
        Charge("replicated write request units", writes, "dynamodbReplicatedWriteMillion"),
        Charge("read request units", reads, "dynamodbReadMillion"),
        Charge("GB-months stored", stored, "dynamodbStorageGBMonth"),
    ]
    if _inputs(r).get("pointInTimeRecovery"):
        charges.append(Charge("GB-months of PITR", stored, "dynamodbPitrGBMonth"))
    return charges


def _invocations(view: StackView, r: dict[str, Any]) -> float:
    """Invocations a month of one function, from what its handler serves."""
    t, u = view.traffic, view.usage
    graphql = u("traffic.graphqlShare")
    appsync = u("traffic.appsyncShare")
    handler = str(_inputs(r).get("handler", ""))
    package = handler.split(".")[1] if handler.count(".") >= 2 else handler
    if package == "saga":
        # The forward steps run once an order; compensations only when one fails.
        return t.saga_orders if _inputs(r).get("name") in view.saga_functions() else 0.0
    serves: dict[str, float] = {
        "write_api": t.orders * (1 - graphql) + t.forwarded_in,
        "read_api": t.reads * (1 - graphql),
        # getOrder, listOrders, placeOrder, and the notifier's publishOrderUpdate per change.
        "graphql": (t.reads + t.orders) * graphql + t.changes,
        "projector": t.domain_events,
        "notifier": t.changes,
        # $connect, subscribe and $disconnect.
        "websocket": t.subscriptions * (1 - appsync) * 3,
        "health": t.probes,
        "order_intake": t.async_in,
        # Runs once a deploy, not a month.
        "migrator": 0.0,
        # Runs on its schedule alone, counted from the plan's rule below.
        "outbox_drain": 0.0,
    }
    scheduled = _scheduled_runs(view, r)
    if package not in serves and not scheduled:
        raise CostError(
            f"{view.name}: function {r['name']} (handler {handler}) has no usage in ops/cost.py"
        )
    return serves.get(package, 0.0) + scheduled


def _schedules(view: StackView, function: dict[str, Any]) -> list[float]:
    """The intervals, in minutes, of the scheduled bus rules of its stack that invoke it."""
    name = str(_inputs(function).get("name", ""))
    rules = {str(_inputs(x).get("name")): x for x in view.of_type(EVENT_RULE)}
    intervals = []
    for target in view.of_type(EVENT_TARGET):
        if not name or not str(_inputs(target).get("arn", "")).endswith(f":function:{name}"):
            continue
        rule = rules.get(str(_inputs(target).get("rule")))
        expression = _inputs(rule).get("scheduleExpression") if rule else None
        if rule and expression:
            intervals.append(_interval_minutes(view, str(expression), str(rule["name"])))
    return intervals


def _scheduled_runs(view: StackView, function: dict[str, Any]) -> float:
    """Runs a month of a function that scheduled bus rules of its stack invoke."""
    return sum(view.hours * 60 / minutes for minutes in _schedules(view, function))


def _interval_minutes(view: StackView, expression: str, owner: str) -> float:
    """Minutes between two runs of ``rate(N unit)``; other schedules have no rule."""
    match = re.fullmatch(r"rate\((\d+) (minutes?|hours?|days?)\)", expression.strip())
    if not match:
        raise CostError(f"{view.name}: {owner}: schedule {expression!r} has no price rule")
    return int(match.group(1)) * {"m": 1, "h": 60, "d": 1440}[match.group(2)[0]]


def _lambda(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Lambda function: requests, GB-seconds by architecture, its logs, its X-Ray traces."""
    invocations = _invocations(view, r)
    memory = float(_inputs(r).get("memorySize", 128))
    arch = (_inputs(r).get("architectures") or ["x86_64"])[0]
    seconds = invocations * view.usage("lambda.averageMs") / 1000
    charges = [
        Charge("requests", invocations, "lambdaRequestMillion"),
        Charge(f"GB-seconds ({memory:g} MB, {arch})", seconds * memory / 1024,
               "lambdaArmGBSecond" if arch == "arm64" else "lambdaX86GBSecond"),
        Charge("GB of logs", invocations * view.usage("lambda.logKB") * 1024 / GB,
               "logsIngestGB"),
    ]  # fmt: skip
    if (_inputs(r).get("tracingConfig") or {}).get("mode") == "Active":
        traced = invocations * view.usage("lambda.tracedShare")
        charges.append(Charge("X-Ray traces", traced, "xrayTraceMillion"))
    return charges


def _state_machine(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Step Functions (Standard): each order's happy path in transitions, and its logs."""
    if _inputs(r).get("type", "STANDARD") != "STANDARD":
        raise CostError(f"{view.name}: {r['name']}: only Standard workflows have a price rule")
    states = len(happy_path(json.loads(_inputs(r)["definition"])))
    transitions = view.traffic.saga_orders * states
    charges = [
        Charge(f"state transitions ({states} an order)", transitions, "sfnTransitionThousand")
    ]
    if (_inputs(r).get("loggingConfiguration") or {}).get("level") == "ALL":
        logged = transitions * view.usage("stateMachineLogBytes") / GB
        charges.append(Charge("GB of execution logs", logged, "logsIngestGB"))
    if (_inputs(r).get("tracingConfiguration") or {}).get("enabled"):
        traced = view.traffic.saga_orders * view.usage("lambda.tracedShare")
        charges.append(Charge("X-Ray traces", traced, "xrayTraceMillion"))
    return charges


def _api(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """API Gateway v2: HTTP requests (with access logs, egress) or WebSocket messages/minutes."""
    t, u = view.traffic, view.usage
    protocol = _inputs(r).get("protocolType")
    if protocol == "WEBSOCKET":
        websocket = 1 - u("traffic.appsyncShare")
        return [
            Charge("messages", (t.subscriptions + t.notifications) * websocket,
                   "websocketMessageMillion"),
            Charge("connection-minutes", t.minutes * websocket, "websocketMinuteMillion"),
        ]  # fmt: skip
    if protocol != "HTTP":
        raise CostError(f"{view.name}: {r['name']}: {protocol} APIs have no price rule")
    requests = (t.orders + t.reads) * (1 - u("traffic.graphqlShare")) + t.forwarded_in + t.probes
    charges = [Charge("requests", requests, "httpApiMillion")]
    if any(_inputs(s).get("accessLogSettings") for s in view.of_type(STAGE)):
        logged = requests * u("apiAccessLogBytes") / GB
        charges.append(Charge("GB of access logs", logged, "logsIngestGB"))
    if not view.deployment.has_distribution:
        charges.append(Charge("GB to clients", t.egress_gb, "internetTransferGB"))
    return charges


def _graphql(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """AppSync: queries and mutations, real-time updates, connection-minutes."""
    t, u = view.traffic, view.usage
    appsync = u("traffic.appsyncShare")
    operations = (t.reads + t.orders) * u("traffic.graphqlShare") + t.changes
    return [
        Charge("query and mutation operations", operations, "appsyncOperationMillion"),
        Charge("real-time updates", t.notifications * appsync, "appsyncRealtimeUpdateMillion"),
        Charge("connection-minutes", t.minutes * appsync, "appsyncConnectionMinuteMillion"),
    ]


def _health_check(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Route 53 health check: the check, and each optional feature it uses."""
    i = _inputs(r)
    kind = str(i.get("type", ""))
    features = [
        name
        for name, used in (
            ("HTTPS", kind.startswith("HTTPS")),
            ("string matching", kind.endswith("STR_MATCH")),
            ("fast interval", float(i.get("requestInterval", 30)) < 30),
            ("latency measurement", bool(i.get("measureLatency"))),
        )
        if used
    ]
    return [
        Charge("health check", 1, "route53HealthCheckMonth", GLOBAL),
        Charge(f"optional features ({', '.join(features) or 'none'})", len(features),
               "route53HealthCheckFeatureMonth", GLOBAL),
    ]  # fmt: skip


def _distribution(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """CloudFront: every client HTTP request of every region, and what goes back to clients."""
    egress = view.usage("traffic.egressGB")
    return [
        Charge("HTTPS requests", view.deployment.client_requests(), "cloudfrontHttpsTenThousand",
               GLOBAL),
        Charge("GB to viewers", egress, "cloudfrontDataOutGB", GLOBAL),
    ]  # fmt: skip


def _web_acl(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """WAF web ACL: the ACL, its rules, the requests it inspects (CloudFront's, if on it)."""
    if _inputs(r).get("scope") != "CLOUDFRONT":
        raise CostError(f"{view.name}: {r['name']}: only a WAF on CloudFront has a price rule")
    rules = len(_inputs(r).get("rules") or [])
    requests = view.deployment.client_requests()
    return [
        Charge("web ACL", 1, "wafWebAclMonth", GLOBAL),
        Charge(f"rules ({rules})", rules, "wafRuleMonth", GLOBAL),
        Charge("requests inspected", requests, "wafRequestMillion", GLOBAL),
    ]


def _event_bus(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """EventBridge custom bus: the saga's domain events, OrderRequested in async mode."""
    events = view.traffic.domain_events + view.traffic.async_out
    return [Charge("custom events", events, "eventBridgeEventMillion")]


def _event_archive(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """EventBridge archive: every event of the bus, archived and kept for its retention."""
    t = view.traffic
    gb = (t.domain_events + t.async_out + t.async_in) * view.usage("perOrder.eventKB") * 1024 / GB
    months = float(_inputs(r).get("retentionDays") or 30) / 30
    return [
        Charge("GB archived", gb, "eventArchiveGB"),
        Charge("GB-months kept", gb * months, "eventArchiveStorageGBMonth"),
    ]


def _event_target(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """EventBridge target: free to AWS targets; another region's bus bills each event again."""
    arn = str(_inputs(r).get("arn", ""))
    if ":event-bus/" in arn and _region_of_arn(arn) not in (None, r.get("region")):
        return [Charge("events sent to another region's bus", view.traffic.async_out,
                       "eventBridgeEventMillion")]  # fmt: skip
    return []


def _queue_messages(view: StackView, r: dict[str, Any]) -> float:
    """Messages a month into a queue, from the bus rules that target it."""
    name = str(_inputs(r).get("name", ""))
    rules = {str(_inputs(x).get("name")): x for x in view.of_type(EVENT_RULE)}
    messages = 0.0
    for target in view.of_type(EVENT_TARGET):
        if not name or not str(_inputs(target).get("arn", "")).endswith(f":{name}"):
            continue
        rule = rules.get(str(_inputs(target).get("rule")))
        pattern = json.loads(_inputs(rule).get("eventPattern") or "{}") if rule else {}
        if pattern.get("detail-type") == [events.ORDER_REQUESTED]:
            messages += view.traffic.async_in
        else:
            messages += view.traffic.domain_events
    return messages


def _queue(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """SQS queue: send, receive and delete of every message a bus rule puts on it."""
    return [Charge("requests (send, receive, delete)", _queue_messages(view, r) * 3,
                   "sqsRequestMillion")]  # fmt: skip


def _event_source_mapping(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Lambda event source: SQS pollers receive even from an empty queue; stream reads are free."""
    if str(_inputs(r).get("eventSourceArn", "")).startswith("arn:aws:sqs:"):
        receives = view.usage("background.sqsEmptyReceives")
        return [Charge("empty receives of the pollers", receives, "sqsRequestMillion")]
    return []


def _firehose(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Firehose (Direct PUT): each event of the lake rule, billed in 5 KB increments."""
    record_kb = math.ceil(view.usage("perOrder.eventKB") / 5) * 5
    gb = view.traffic.domain_events * record_kb * 1024 / GB
    return [Charge("GB ingested (5 KB a record)", gb, "firehoseIngestGB")]


def _lake_objects(view: StackView) -> float:
    """Objects a month the delivery stream writes: one a buffer interval while events flow."""
    events = view.traffic.domain_events
    intervals = [
        float((_inputs(f).get("extendedS3Configuration") or {}).get("bufferingInterval") or 300)
        for f in view.of_type(FIREHOSE)
    ]
    if not events or not intervals:
        return 0.0
    return min(events, view.hours * 3600 / min(intervals))


def _bucket(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """S3 bucket (the lake): what it stores and the objects written to it."""
    return [
        Charge("GB-months stored", view.usage("stored.lakeGB"), "s3StandardGBMonth"),
        Charge("PUT requests", _lake_objects(view), "s3PutThousand"),
    ]


def _replication(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """S3 replication: each rule sends the new objects to another region and PUTs them there."""
    gb = view.traffic.domain_events * view.usage("perOrder.eventKB") * 1024 / GB
    objects = _lake_objects(view)
    charges = []
    for rule in _inputs(r).get("rules") or []:
        destination = rule.get("destination") or {}
        key = str((destination.get("encryptionConfiguration") or {}).get("replicaKmsKeyId", ""))
        region = _region_of_arn(key) or view.region
        charges += [
            Charge(f"GB replicated to {region}", gb, "interRegionTransferGB"),
            Charge(f"PUT requests in {region}", objects, "s3PutThousand", region),
        ]
    return charges


def _athena(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Athena workgroup: the data its queries scan."""
    return [Charge("TB scanned", view.traffic.athena_tb, "athenaTB")]


def _secret(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Secrets Manager secret: itself and each replica (in its region), and API calls."""
    replicas = [str(x.get("region")) for x in _inputs(r).get("replicas") or []]
    charges = [Charge("secret", 1, "secretMonth")]
    charges += [Charge(f"replica in {region}", 1, "secretMonth", region) for region in replicas]
    calls = view.usage("background.secretCallsPerSecret")
    charges.append(Charge("API calls", calls, "secretApiTenThousand"))
    return charges


def _kms_key(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """KMS customer managed key: the key, and the requests the services make with it."""
    return [
        Charge("customer managed key", 1, "kmsKeyMonth"),
        Charge("requests", view.usage("background.kmsRequestsPerKey"), "kmsRequestTenThousand"),
    ]


def _alarm(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """CloudWatch alarm: each metric it watches, at its resolution."""
    queries = _inputs(r).get("metricQueries") or []
    metrics = sum(1 for q in queries if q.get("metric")) or 1
    high = float(_inputs(r).get("period") or 60) < 60
    key = "cloudwatchHighResAlarmMonth" if high else "cloudwatchAlarmMonth"
    return [Charge(f"alarm metrics ({metrics})", metrics, key)]


def _composite_alarm(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """CloudWatch composite alarm (the alarms it combines are priced on their own)."""
    return [Charge("composite alarm", 1, "cloudwatchCompositeAlarmMonth")]


def _dashboard(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """CloudWatch dashboard: billed once, whatever regions it shows."""
    return [Charge("dashboard", 1, "cloudwatchDashboardMonth", GLOBAL)]


def _canary(view: StackView, r: dict[str, Any]) -> list[Charge]:
    """Synthetics canary: its runs, from its schedule."""
    expression = str((_inputs(r).get("schedule") or {}).get("expression", ""))
    return [
        Charge(
            "canary runs",
            view.hours * 60 / _interval_minutes(view, expression, r["name"]),
            "syntheticsCanaryRun",
        )
    ]


RULES: dict[str, Rule] = {
    "awsx:ec2:Vpc": _vpc,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": _vpc_attachment,
    "aws:ec2transitgateway/peeringAttachment:PeeringAttachment": _peering,
    "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter": _peering_accepter,
    "aws:ec2/vpnConnection:VpnConnection": _vpn,
    "aws:directconnect/gatewayAssociation:GatewayAssociation": _dx_association,
    "aws:rds/cluster:Cluster": _aurora_cluster,
    "aws:rds/clusterInstance:ClusterInstance": _aurora_instance,
    "aws:dynamodb/table:Table": _table,
    "aws:dynamodb/tableReplica:TableReplica": _table_replica,
    LAMBDA: _lambda,
    STATE_MACHINE: _state_machine,
    "aws:apigatewayv2/api:Api": _api,
    "aws:appsync/graphQLApi:GraphQLApi": _graphql,
    HEALTH_CHECK: _health_check,
    DISTRIBUTION: _distribution,
    "aws:wafv2/webAcl:WebAcl": _web_acl,
    "aws:cloudwatch/eventBus:EventBus": _event_bus,
    "aws:cloudwatch/eventArchive:EventArchive": _event_archive,
    EVENT_TARGET: _event_target,
    "aws:sqs/queue:Queue": _queue,
    "aws:lambda/eventSourceMapping:EventSourceMapping": _event_source_mapping,
    FIREHOSE: _firehose,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _replication,
    "aws:athena/workgroup:Workgroup": _athena,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:kms/key:Key": _kms_key,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": _composite_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:synthetics/canary:Canary": _canary,
}

_PRICED_ON_API = "requests are priced on its API (aws:apigatewayv2/api:Api)"
_CONFIG = "configuration of another resource, which is what is billed"
FREE: dict[str, str] = {
    "pulumi:pulumi:StackReference": "reads another stack's outputs; nothing in AWS",
    "random:index/randomPassword:RandomPassword": "generated by Pulumi; nothing in AWS",
    "aws:iam/role:Role": "IAM has no charge",
    "aws:iam/rolePolicy:RolePolicy": "IAM has no charge",
    "aws:dynamodb/tableItem:TableItem": "one small item in the global table: within its figures",
    "aws:ec2/securityGroup:SecurityGroup": "security groups have no charge",
    "aws:ec2/route:Route": "route table entries have no charge",
    "aws:ec2/customerGateway:CustomerGateway": "no charge: the VPN connection is priced",
    "aws:ec2transitgateway/transitGateway:TransitGateway": (
        "no charge of its own: each attachment (VPC, peering, VPN, Direct Connect) is priced"
    ),
    "aws:ec2transitgateway/routeTable:RouteTable": "TGW route tables have no charge",
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": "TGW routing has no charge",
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": "TGW routing has no charge",
    "aws:ec2transitgateway/route:Route": "TGW routing has no charge",
    "aws:rds/globalCluster:GlobalCluster": (
        "no charge of its own: its clusters' capacity, storage and replicated write I/Os are priced"
    ),
    "aws:rds/subnetGroup:SubnetGroup": "DB subnet groups have no charge",
    "aws:lambda/layerVersion:LayerVersion": "code storage, within Lambda's 75 GB allowance",
    "aws:lambda/permission:Permission": "resource policies have no charge",
    "aws:lambda/invocation:Invocation": "runs the migrator once a deploy, not a month",
    "aws:apigatewayv2/integration:Integration": _PRICED_ON_API,
    "aws:apigatewayv2/route:Route": _PRICED_ON_API,
    "aws:apigatewayv2/routeResponse:RouteResponse": _PRICED_ON_API,
    "aws:apigatewayv2/stage:Stage": _PRICED_ON_API + ", its access logs too",
    "aws:apigatewayv2/domainName:DomainName": "custom domain names have no charge",
    "aws:apigatewayv2/apiMapping:ApiMapping": "API mappings of a custom domain have no charge",
    "aws:appsync/apiKey:ApiKey": "operations are priced on the GraphQL API",
    "aws:appsync/dataSource:DataSource": "operations are priced on the GraphQL API",
    "aws:appsync/resolver:Resolver": "operations are priced on the GraphQL API",
    "aws:acm/certificate:Certificate": "public certificates have no charge",
    "aws:acm/certificateValidation:CertificateValidation": "waits for validation; nothing billed",
    "aws:route53/record:Record": (
        "alias queries to CloudFront and API Gateway have no charge; the validation records "
        "are queried by ACM alone; the hosted zone is not in the plan"
    ),
    "aws:cloudwatch/eventRule:EventRule": (
        "matching is included in the event price, schedules are free; its targets, bus and "
        "the functions a schedule invokes are priced"
    ),
    "aws:cloudwatch/logGroup:LogGroup": (
        "no charge of its own: ingestion is priced with what writes to it (functions, API "
        "access logs, the state machine)"
    ),
    "aws:cloudwatch/logStream:LogStream": "no charge: what is written to it is priced",
    "aws:sqs/queuePolicy:QueuePolicy": "queue policies have no charge",
    "aws:sns/topic:Topic": (
        "no charge of its own; alarms publish only when their state changes (pennies a year)"
    ),
    "aws:sns/topicSubscription:TopicSubscription": "email deliveries of alarms: negligible",
    "aws:secretsmanager/secretVersion:SecretVersion": "the secret is priced, not its versions",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _CONFIG,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _CONFIG,
    "aws:s3/bucketPolicy:BucketPolicy": _CONFIG,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _CONFIG,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        _CONFIG + " (with a bucket key, few KMS requests)"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": _CONFIG,
    "aws:glue/catalogDatabase:CatalogDatabase": (
        "within the Data Catalog's free million objects and requests a month"
    ),
    "aws:glue/catalogTable:CatalogTable": (
        "within the Data Catalog's free million objects (partition projection stores none)"
    ),
}


# -- the estimate -------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """Every priced line of every stack, with what they were priced from."""

    lines: list[Line]
    stacks: dict[str, str]  # stack name: region, in the plan's order
    usage: Usage
    prices: PriceTable

    def total(self, stack: str | None = None, category: str | None = None) -> float:
        """USD a month, of one stack and/or category, or of everything."""
        return sum(
            line.monthly
            for line in self.lines
            if (stack is None or line.stack == stack)
            and (category is None or line.category == category)
        )

    def unsourced(self) -> list[tuple[str, str]]:
        """The prices used that have no source for their region: (key, region)."""
        return sorted({(x.price.key, x.price.region) for x in self.lines if not x.price.sourced})

    def to_json(self) -> dict[str, Any]:
        """The document `ops cost --json` prints."""
        return {
            "currency": "USD",
            "pricesAsOf": self.prices.as_of,
            "prices": self.prices.origin,
            "usage": self.usage.origin,
            "idle": self.usage.is_idle,
            "total": round(self.total(), 2),
            "stacks": {
                name: {
                    "region": region,
                    "total": round(self.total(name), 2),
                    "byCategory": {c: round(self.total(name, c), 2) for c in CATEGORY_ORDER},
                    "lines": [x.to_json() for x in self.lines if x.stack == name],
                }
                for name, region in self.stacks.items()
            },
            "unsourcedPrices": [{"key": k, "region": r} for k, r in self.unsourced()],
            "notIncluded": list(NOT_INCLUDED),
        }


# This project's component resources group others and are nothing in AWS themselves.
COMPONENT_PREFIX = "active-active:components:"


def free_reason(type_: str) -> str | None:
    """Why a resource type is not billed on its own, or None if it is (or is unknown)."""
    if type_.startswith(COMPONENT_PREFIX):
        return "a component of this project: nothing in AWS itself; its resources are priced"
    return FREE.get(type_)


def unpriced_types(document: Mapping[str, Any]) -> list[str]:
    """Resource types of the plan with neither a price rule nor a reason to be free."""
    types = {r["type"] for s in document["stacks"].values() for r in s["resources"]}
    return sorted(t for t in types if t not in RULES and free_reason(t) is None)


def estimate(document: Mapping[str, Any], usage: Usage, prices: PriceTable) -> Estimate:
    """Price every resource of every stack of the plan ``document`` (``ops plan --json``)."""
    missing = unpriced_types(document)
    if missing:
        raise CostError(
            "no price rule and no reason to be free in ops/cost.py for " + ", ".join(missing)
        )
    traffic = traffic_by_stack(document, usage)
    deployment = Deployment(document, usage, prices, home_stack(document), traffic)
    lines: list[Line] = []
    for name, stack in document["stacks"].items():
        view = StackView(
            name=name,
            region=stack["region"],
            role=str(stack.get("role", "")),
            resources=stack["resources"],
            outputs=stack.get("outputs") or {},
            traffic=traffic[name],
            deployment=deployment,
        )
        for resource in stack["resources"]:
            rule = RULES.get(resource["type"])
            if rule is None:
                continue
            lines += _price(view, resource, rule(view, resource), prices)
    return Estimate(lines, {n: s["region"] for n, s in document["stacks"].items()}, usage, prices)


def _price(
    view: StackView, resource: dict[str, Any], charges: Iterable[Charge], prices: PriceTable
) -> list[Line]:
    lines = []
    for charge in charges:
        region = charge.region or resource.get("region") or view.region
        # Priced even when nothing is used, so a region without the price fails at idle too.
        price = prices.price(charge.price, region)
        if charge.quantity:
            lines.append(
                Line(view.name, resource["name"], resource["type"], charge.item,
                     charge.quantity, price)
            )  # fmt: skip
    return lines


# -- for people ---------------------------------------------------------------------------


def render(result: Estimate, details: bool = False) -> str:
    """The estimate as a table: stacks by category, totals; with ``details`` every line."""
    profile = "idle: no traffic, nothing stored" if result.usage.is_idle else "usage profile"
    out = [
        f"Monthly estimate in USD, {profile} ({result.usage.origin}), prices as of "
        f"{result.prices.as_of} ({result.prices.origin})",
        "",
    ]
    header = f"{'stack':<16}{'region':<16}" + "".join(f"{c:>11}" for c in CATEGORY_ORDER)
    out.append(header + f"{'total':>11}")
    for name, region in result.stacks.items():
        cells = "".join(f"{result.total(name, c):>11,.2f}" for c in CATEGORY_ORDER)
        out.append(f"{name:<16}{region:<16}{cells}{result.total(name):>11,.2f}")
    cells = "".join(f"{result.total(None, c):>11,.2f}" for c in CATEGORY_ORDER)
    out.append(f"{'total':<32}{cells}{result.total():>11,.2f}")
    if details:
        for name, region in result.stacks.items():
            out += ["", f"{name} ({region}): {result.total(name):,.2f}"]
            for line in sorted(
                (x for x in result.lines if x.stack == name), key=lambda x: -x.monthly
            ):
                price = f"${line.price.usd:g}/{_per(line.price)}"
                mark = "" if line.price.sourced else "  (no source)"
                out.append(
                    f"  {line.monthly:>10,.2f}  {line.resource}: {line.item}, "
                    f"{line.quantity:,.6g} at {price} in {line.price.region}{mark}"
                )
    unsourced = result.unsourced()
    if unsourced:
        stand_in = sum(x.monthly for x in result.lines if not x.price.sourced)
        out += [
            "",
            f"{stand_in:,.2f} of the total comes from {len(unsourced)} prices without a source "
            f"for their region ({', '.join(sorted({r for _, r in unsourced}))}): "
            f"{result.prices.origin} says what stands in for each, --lines marks them.",
        ]
    out += ["", "Not included: " + "; ".join(NOT_INCLUDED) + "."]
    return "\n".join(out)


def _per(price: Price) -> str:
    if price.per == 1:
        return price.unit
    return f"{price.per:,.0f} {price.unit}"


def _display(path: Path | str) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(OPS_DIR.parent))
    except ValueError:
        return str(path)
