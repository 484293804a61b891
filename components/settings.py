"""Stack settings: the one module that reads ``pulumi.Config``.

``parse_settings`` turns the raw values of one stack file into a frozen ``Settings`` and
rejects bad config with a message that names the stack file and the key, before any resource
is registered. The offline plan calls it on every stack file; the Pulumi program calls it
through ``load_settings`` on the stack being deployed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

PROJECT = "active-active"
DEFAULT_ORGANIZATION = "organization"

# Set by `ops up` on the home stack's first pass to the replica stacks that do not exist yet
# (comma-separated short names): a StackReference to a stack that does not exist fails and
# cannot be caught (pulumi/pulumi#3540). Only those are left out; replication to the replica
# stacks that exist is kept on every pass, so adding a region never drops it for the others.
MISSING_STACKS_ENV = "ACTIVE_ACTIVE_MISSING_STACKS"

# Aurora Serverless v2 accepts 0 to 256 ACU in steps of 0.5.
MAX_ACU = 256.0
# Global database members default to 0.5 ACU: auto-pause (0 ACU) behaves differently inside a
# global database, so 0 is only used where the config asks for it (PITFALLS.md item 5).
DEFAULT_MIN_ACU = 0.5
DEFAULT_MAX_ACU = 4.0
DEFAULT_ENGINE_VERSION = "16.6"
# 0 ACU (auto-pause) needs a recent Aurora PostgreSQL minor version per major version (AWS,
# "Aurora Serverless v2 capacity"); older versions accept 0.5 ACU at least.
AUTO_PAUSE_MIN_VERSIONS = {13: (13, 15), 14: (14, 12), 15: (15, 7), 16: (16, 3)}
# How long an instance at 0 ACU stays idle before it pauses: AWS accepts 300 to 86,400 seconds.
DEFAULT_SECONDS_UNTIL_AUTO_PAUSE = 300
# HTTP API stage throttling; an account's regional quota is 10,000 requests a second.
DEFAULT_THROTTLING_RATE = 100.0
DEFAULT_THROTTLING_BURST = 200
MAX_THROTTLING_RATE = 10_000.0
MAX_THROTTLING_BURST = 5_000
# Why `natGateways: none` is refused rather than deployed: functions in the private subnets call
# AWS APIs that the VPC has no endpoint for, and a provider on the internet.
NO_NAT_PROBLEM = (
    "'none' is not supported: the functions in the private subnets call Secrets Manager, "
    "EventBridge, Step Functions, STS and the payment provider, which they reach only through "
    "a NAT gateway (the VPC has gateway endpoints for DynamoDB and S3 alone); use single or perAz"
)
# WAF rate-based rules count over 5 minutes and accept 10 to 2,000,000,000.
DEFAULT_WAF_RATE_LIMIT = 2_000
MIN_WAF_RATE_LIMIT = 10
MAX_WAF_RATE_LIMIT = 2_000_000_000


class Role(StrEnum):
    """Which part a stack plays in owning the deployment, not which region writes.

    The home stack creates the global resources (the Aurora global cluster, the table the
    global table grew from, the master secret) and owns them for their whole life; a member
    stack joins them. Which region *writes* is run-time state (Aurora's writer and the control
    record), changed by `ops failover` and `ops failback` without touching a stack file.
    """

    HOME = "home"
    MEMBER = "member"


# Words of stack files written before ownership and writing were told apart: each one names
# its replacement, so an old file is refused with what to write instead.
OLD_WORDS = {
    ("role", "primary"): ("role", "home"),
    ("role", "secondary"): ("role", "member"),
    ("primaryStack", None): ("homeStack", None),
}


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
    """How a secondary hands a write to the primary: a signed HTTP call, or its event bus."""

    SYNC = "sync"
    ASYNC = "async"


class GraphqlAuth(StrEnum):
    """The AppSync API's default authorization: an API key, or IAM (SigV4) callers only."""

    API_KEY = "apiKey"
    IAM = "iam"


class ConfigError(ValueError):
    """Bad stack configuration; the message names the stack file and the key."""

    def __init__(self, stack: str, key: str, problem: str):
        self.stack = stack
        self.key = key
        super().__init__(f"Pulumi.{stack}.yaml: {PROJECT}:{key}: {problem}")


@dataclass(frozen=True)
class DatabaseSettings:
    """Aurora Serverless v2 capacity (ACU) and engine version."""

    min_capacity: float = DEFAULT_MIN_ACU
    max_capacity: float = DEFAULT_MAX_ACU
    engine_version: str = DEFAULT_ENGINE_VERSION
    # Only used when min_capacity is 0.
    seconds_until_auto_pause: int = DEFAULT_SECONDS_UNTIL_AUTO_PAUSE

    @property
    def auto_pause(self) -> bool:
        """True when the config asks for 0 ACU: instances pause when idle."""
        return self.min_capacity == 0


@dataclass(frozen=True)
class DomainSettings:
    """Custom domains: the hosted zone, the latency-routed API name and the public name."""

    zone_id: str
    api_hostname: str
    public_hostname: str


@dataclass(frozen=True)
class EdgeSettings:
    """The public edge: CORS, HTTP API throttling, AppSync's default auth, the WAF."""

    # Browser origins allowed to call the HTTP API; empty means no CORS headers at all.
    cors_origins: tuple[str, ...] = ()
    # Steady-state requests per second and burst, per stage, for every route.
    throttling_rate_limit: float = DEFAULT_THROTTLING_RATE
    throttling_burst_limit: int = DEFAULT_THROTTLING_BURST
    graphql_auth: GraphqlAuth = GraphqlAuth.API_KEY
    # A WAF web ACL in front of CloudFront (primary with a domain only).
    waf: bool = False
    # Requests a single IP may make in any 5-minute window before the WAF blocks it.
    waf_rate_limit: int = DEFAULT_WAF_RATE_LIMIT


@dataclass(frozen=True)
class VpnSettings:
    """A site-to-site VPN to an on-premises customer gateway."""

    customer_gateway_ip: str
    bgp_asn: int


@dataclass(frozen=True)
class OnPremSettings:
    """On-premises networks and how to reach them: a VPN, a Direct Connect gateway, or both."""

    cidrs: tuple[str, ...]
    vpn: VpnSettings | None = None
    direct_connect_gateway_id: str | None = None
    # The on-premises CRM endpoint the saga's UpdateCustomer step notifies; None: no CRM call.
    crm_url: str | None = None


@dataclass(frozen=True)
class AdoptedSettings:
    """What a home stack took over from a home stack whose region was lost for good.

    Written by `ops rehome`. The adopting stack keeps its own cluster and table replica as
    they were, imports the global cluster, and tells the members the global table and master
    secret they joined, which lived in the lost region and stay there, unmanaged.
    """

    # The lost home stack: the global resources it owned keep their names.
    from_stack: str
    # The DynamoDB table the global table grew from, as every replica names it.
    table_arn: str
    # This region's replica of the lost home's master secret.
    master_secret_arn: str


@dataclass(frozen=True)
class PaymentSettings:
    """The payment provider the checkout saga calls; its API key lives in a secret."""

    # None: the stack deploys, and the saga's payment steps fail every order with
    # PaymentNotConfigured, naming this key, instead of calling a made-up provider.
    base_url: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything one stack needs to know about itself and the stacks it references."""

    stack: str
    region: str
    role: Role
    vpc_cidr: str
    environment: Environment = Environment.DEV
    home_stack: str | None = None
    peer_stacks: tuple[str, ...] = ()
    replica_stacks: tuple[str, ...] = ()
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    domain: DomainSettings | None = None
    legacy_origin: str | None = None
    edge: EdgeSettings = field(default_factory=EdgeSettings)
    on_prem: OnPremSettings | None = None
    availability_zones: int = 2
    nat_gateways: NatGateways = NatGateways.SINGLE
    write_mode: WriteMode = WriteMode.SYNC
    write_forwarding: bool = False
    payments: PaymentSettings = field(default_factory=PaymentSettings)
    # Where this region's alarm topic also sends email; None: the topic has no subscriber.
    alarm_email: str | None = None
    # A home stack that took over from a lost one (`ops rehome`); None for every other stack.
    adopted: AdoptedSettings | None = None
    # The settings of every stack this one references, read from their stack files, so that
    # facts a resource count depends on (a peer's region, CIDR, zones) are known up front.
    peers: tuple[Settings, ...] = ()

    @property
    def is_home(self) -> bool:
        """True in the stack that holds the writer."""
        return self.role is Role.HOME

    @property
    def is_prod(self) -> bool:
        """True where deletion protection and long retention apply."""
        return self.environment is Environment.PROD

    def peer(self, stack: str) -> Settings:
        """The settings of a referenced stack, by short or fully qualified name."""
        for peer in self.peers:
            if peer.stack == short_name(stack):
                return peer
        raise KeyError(f"{stack} is not referenced by {self.stack}")

    def referenced_stacks(self) -> tuple[str, ...]:
        """Every stack this one reads outputs from, the home stack first, without repeats."""
        names = [self.home_stack, *self.peer_stacks, *self.replica_stacks]
        return tuple(dict.fromkeys(n for n in names if n))


def short_name(stack: str) -> str:
    """The stack file's name for a stack: the last part of a fully qualified name."""
    return stack.rsplit("/", 1)[-1]


def qualified_name(stack: str, organization: str = DEFAULT_ORGANIZATION) -> str:
    """The fully qualified name a StackReference needs (`organization/active-active/<stack>`)."""
    return stack if "/" in stack else f"{organization}/{PROJECT}/{stack}"


def parse_settings(
    stack: str,
    values: Mapping[str, Any],
    known_stacks: Iterable[str] | None = None,
) -> Settings:
    """Validate one stack's config (keys without the project prefix, plus ``aws:region``).

    ``known_stacks`` are the stacks that have a file; when given, every referenced stack must
    be one of them.
    """
    reader = _Reader(stack, values)
    region = values.get("aws:region")
    if not isinstance(region, str) or not region:
        raise ConfigError(stack, "aws:region", "missing: every stack names its region")

    _refuse_old_words(stack, values)
    role = reader.enum("role", Role, required=True)
    home_stack = reader.optional_str("homeStack")
    if role is Role.MEMBER and home_stack is None:
        raise ConfigError(stack, "homeStack", "a member stack must name the home stack")
    if role is Role.HOME and home_stack is not None:
        raise ConfigError(stack, "homeStack", "the home stack must not name a home stack")

    peer_stacks = reader.stack_list("peerStacks")
    replica_stacks = reader.stack_list("replicaStacks")
    if role is Role.MEMBER and replica_stacks:
        raise ConfigError(stack, "replicaStacks", "only the home stack replicates its lake bucket")

    references: dict[str, tuple[str, ...]] = {"homeStack": (home_stack,) if home_stack else ()}
    references |= {"peerStacks": peer_stacks, "replicaStacks": replica_stacks}
    known = None if known_stacks is None else {short_name(s) for s in known_stacks}
    for key, names in references.items():
        for name in names:
            if short_name(name) == stack:
                raise ConfigError(stack, key, f"names this stack itself ({name})")
            if known is not None and short_name(name) not in known:
                raise ConfigError(
                    stack, key, f"names {name}, but there is no Pulumi.{short_name(name)}.yaml"
                )

    settings = Settings(
        stack=stack,
        region=region,
        role=role,
        vpc_cidr=reader.cidr("vpcCidr"),
        environment=reader.enum("environment", Environment, default=Environment.DEV),
        home_stack=home_stack,
        peer_stacks=peer_stacks,
        replica_stacks=replica_stacks,
        database=reader.database("database"),
        domain=reader.domain("domain"),
        legacy_origin=reader.hostname("legacyOrigin"),
        edge=reader.edge("edge"),
        on_prem=reader.on_prem("onPrem"),
        availability_zones=reader.integer("availabilityZones", default=2, low=2, high=6),
        nat_gateways=reader.nat_gateways("natGateways"),
        write_mode=reader.enum("writeMode", WriteMode, default=WriteMode.SYNC),
        write_forwarding=reader.boolean("writeForwarding", default=False),
        payments=reader.payments("payments"),
        alarm_email=reader.email("alarmEmail"),
        adopted=reader.adopted("adopted"),
    )
    if settings.adopted is not None and role is not Role.HOME:
        raise ConfigError(stack, "adopted", "only a home stack adopts (written by `ops rehome`)")
    reader.reject_unknown()
    return settings


def _refuse_old_words(stack: str, values: Mapping[str, Any]) -> None:
    """Stack files that still say primary/secondary: say what to write instead, and why."""
    for (key, old), (new_key, new) in OLD_WORDS.items():
        if key in values and (old is None or values[key] == old):
            was = f"{key}: {old}" if old else key
            now = f"{new_key}: {new}" if new else new_key
            raise ConfigError(
                stack,
                key,
                f"'{was}' is the old word; write '{now}'. The stack that owns the global "
                "resources is the home stack for good; which region writes is run-time state "
                "that `python -m ops failover` and `failback` change, never a stack file "
                "(docs/operations.md)",
            )


def check_deployment(settings: Iterable[Settings]) -> None:
    """Checks that need every stack at once: one primary, one engine version, and VPC CIDRs
    that never overlap.

    A secondary cluster with another engine version than the global cluster fails when it
    joins it; overlapping CIDRs make Transit Gateway peering useless (PITFALLS.md item 13).
    """
    stacks = list(settings)
    primaries = [s.stack for s in stacks if s.is_home]
    if len(primaries) > 1:
        raise ConfigError(primaries[1], "role", f"{primaries[0]} is already the home stack")
    for member in stacks[1:]:
        first = stacks[0]
        if member.database.engine_version != first.database.engine_version:
            raise ConfigError(
                member.stack,
                "database.engineVersion",
                f"{member.database.engine_version} differs from "
                f"{first.database.engine_version} of stack {first.stack}: every stack joins "
                "one Aurora global cluster, which takes one engine version",
            )
    networks = [(s.stack, ipaddress.ip_network(s.vpc_cidr)) for s in stacks]
    for i, (stack, network) in enumerate(networks):
        for other, other_network in networks[:i]:
            if network.overlaps(other_network):
                raise ConfigError(
                    stack, "vpcCidr", f"{network} overlaps {other_network} of stack {other}"
                )


def load_settings() -> Settings:
    """The settings of the stack being deployed, read from ``pulumi.Config``."""
    import pulumi

    stack = pulumi.get_stack()
    config = pulumi.Config(PROJECT)
    values: dict[str, Any] = {"aws:region": pulumi.Config("aws").get("region")}
    # The old words are read too, so that a stack file still using them is refused by name.
    for key in (*_KNOWN_KEYS, *(key for key, _ in OLD_WORDS if key not in _KNOWN_KEYS)):
        value = config.get_object(key) if key in _STRUCTURED_KEYS else config.get(key)
        if value is not None:
            values[key] = value
    missing = {n for n in os.environ.get(MISSING_STACKS_ENV, "").split(",") if n}
    if missing and isinstance(values.get("replicaStacks"), list):
        values["replicaStacks"] = [
            name for name in values["replicaStacks"] if short_name(name) not in missing
        ]
    files = {p.name[len("Pulumi.") : -len(".yaml")]: p for p in Path.cwd().glob("Pulumi.*.yaml")}
    settings = parse_settings(stack, values, known_stacks=list(files) or None)
    return with_peers(settings, {name: read_stack_file(name, path) for name, path in files.items()})


def read_stack_file(stack: str, path: Path) -> Mapping[str, Any]:
    """The config of one stack file, keys without the project prefix."""
    import yaml

    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config") or {}
    if not isinstance(config, Mapping):
        raise ConfigError(stack, "config", "must be a mapping of keys to values")
    prefix = f"{PROJECT}:"
    return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in config.items()}


def with_peers(settings: Settings, configs: Mapping[str, Mapping[str, Any]]) -> Settings:
    """``settings`` with the parsed settings of every stack it references.

    Also checks, from this stack's side, that no referenced stack's CIDR overlaps its own.
    """
    peers = []
    for name in settings.referenced_stacks():
        config = configs.get(short_name(name))
        if config is None:
            continue
        peers.append(parse_settings(short_name(name), config))
    check_deployment([settings, *peers])
    return replace(settings, peers=tuple(peers))


_STRUCTURED_KEYS = frozenset(
    {
        "peerStacks",
        "replicaStacks",
        "database",
        "domain",
        "edge",
        "onPrem",
        "writeForwarding",
        "availabilityZones",
        "payments",
        "adopted",
    }
)
_KNOWN_KEYS = (
    "role", "vpcCidr", "environment", "homeStack", "peerStacks", "replicaStacks", "database",
    "domain", "legacyOrigin", "edge", "onPrem", "availabilityZones", "natGateways", "writeMode",
    "writeForwarding", "payments", "alarmEmail", "adopted",
)  # fmt: skip


_HOSTNAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
# Deliberately loose: SNS is the judge of an address; this catches typos and URLs.
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_ORIGIN = re.compile(r"https?://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]+(:[0-9]{1,5})?")


def _whole(value: Any) -> int | None:
    """A whole number from config (YAML may give a digit string), else None."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _supports_auto_pause(version: str) -> bool:
    """True when an Aurora PostgreSQL version accepts a minimum of 0 ACU."""
    try:
        parts = tuple(int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    major = parts[0]
    if major not in AUTO_PAUSE_MIN_VERSIONS:
        return major > max(AUTO_PAUSE_MIN_VERSIONS)
    return parts >= AUTO_PAUSE_MIN_VERSIONS[major]


class _Reader:
    """Reads typed values out of one stack's config, remembering which keys it has seen."""

    def __init__(self, stack: str, values: Mapping[str, Any]):
        self.stack = stack
        self.values = values
        self.seen: set[str] = {"aws:region"}

    def _get(self, key: str) -> Any:
        self.seen.add(key)
        return self.values.get(key)

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.stack, key, problem)

    def optional_str(self, key: str) -> str | None:
        value = self._get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {value!r}")
        return value

    def enum(
        self, key: str, kind: type[Any], *, default: Any = None, required: bool = False
    ) -> Any:
        value = self._get(key)
        allowed = " / ".join(m.value for m in kind)
        if value is None:
            if required:
                raise self.fail(key, f"missing: one of {allowed}")
            return default
        try:
            return kind(value)
        except ValueError:
            raise self.fail(key, f"{value!r} is not one of {allowed}") from None

    def nat_gateways(self, key: str) -> NatGateways:
        if self.values.get(key) == "none":
            raise self.fail(key, NO_NAT_PROBLEM)
        nat: NatGateways = self.enum(key, NatGateways, default=NatGateways.SINGLE)
        return nat

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise self.fail(key, f"must be true or false, not {value!r}")

    def integer(self, key: str, *, default: int, low: int, high: int) -> int:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(key, f"must be a whole number from {low} to {high}, not {value!r}")
        return value

    def cidr(self, key: str) -> str:
        value = self._get(key)
        if value is None:
            raise self.fail(key, "missing: every stack needs its own VPC CIDR")
        try:
            network = ipaddress.IPv4Network(str(value), strict=True)
        except ValueError:
            raise self.fail(key, f"{value!r} is not an IPv4 CIDR such as 10.10.0.0/16") from None
        if not 16 <= network.prefixlen <= 24:
            raise self.fail(key, f"{value} must be between a /16 and a /24")
        return str(network)

    def stack_list(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "must be a list of stack names")
        if len(set(value)) != len(value):
            raise self.fail(key, "names a stack twice")
        return tuple(value)

    def mapping(self, key: str) -> Mapping[str, Any] | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a mapping")
        return value

    def database(self, key: str) -> DatabaseSettings:
        raw = self.mapping(key) or {}
        unknown = set(raw) - {
            "minCapacity", "maxCapacity", "engineVersion", "secondsUntilAutoPause"
        }  # fmt: skip
        if unknown:
            raise self.fail(f"{key}.{sorted(unknown)[0]}", "unknown key")
        capacities = {}
        for name, default in (("minCapacity", DEFAULT_MIN_ACU), ("maxCapacity", DEFAULT_MAX_ACU)):
            value = raw.get(name, default)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(f"{key}.{name}", f"must be a number of ACU, not {value!r}")
            if not 0 <= value <= MAX_ACU:
                raise self.fail(f"{key}.{name}", f"{value} is outside 0 to {MAX_ACU:g} ACU")
            if (value * 2) != int(value * 2):
                raise self.fail(f"{key}.{name}", f"{value} is not a multiple of 0.5 ACU")
            capacities[name] = float(value)
        if capacities["minCapacity"] > capacities["maxCapacity"]:
            raise self.fail(
                f"{key}.minCapacity",
                f"{capacities['minCapacity']:g} is above maxCapacity {capacities['maxCapacity']:g}",
            )
        if capacities["maxCapacity"] == 0:
            raise self.fail(f"{key}.maxCapacity", "must be above 0 ACU")
        version = raw.get("engineVersion", DEFAULT_ENGINE_VERSION)
        if not isinstance(version, str | int | float) or isinstance(version, bool):
            raise self.fail(f"{key}.engineVersion", f"must be a version string, not {version!r}")
        version = str(version)
        if capacities["minCapacity"] == 0 and not _supports_auto_pause(version):
            raise self.fail(
                f"{key}.minCapacity",
                f"0 ACU (auto-pause) needs Aurora PostgreSQL 13.15, 14.12, 15.7, 16.3 or later "
                f"in its major version, not {version}",
            )
        pause = raw.get("secondsUntilAutoPause", DEFAULT_SECONDS_UNTIL_AUTO_PAUSE)
        if isinstance(pause, bool) or not isinstance(pause, int) or not 300 <= pause <= 86_400:
            raise self.fail(
                f"{key}.secondsUntilAutoPause", f"must be 300 to 86400 seconds, not {pause!r}"
            )
        return DatabaseSettings(
            capacities["minCapacity"], capacities["maxCapacity"], version, pause
        )

    def domain(self, key: str) -> DomainSettings | None:
        raw = self.mapping(key)
        if raw is None:
            return None
        names = {"zoneId": "", "apiHostname": "", "publicHostname": ""}
        for name in names:
            value = raw.get(name)
            if not isinstance(value, str) or not value:
                raise self.fail(
                    f"{key}.{name}",
                    "missing: a domain needs zoneId, apiHostname and publicHostname",
                )
            names[name] = value
        return DomainSettings(names["zoneId"], names["apiHostname"], names["publicHostname"])

    def hostname(self, key: str) -> str | None:
        value = self.optional_str(key)
        if value is not None and not _HOSTNAME.fullmatch(value):
            raise self.fail(key, f"{value!r} is not a host name such as legacy.example.com")
        return value

    def email(self, key: str) -> str | None:
        value = self.optional_str(key)
        if value is None:
            return None
        local, at, domain = value.rpartition("@")
        if not (at and _EMAIL_LOCAL.fullmatch(local) and _HOSTNAME.fullmatch(domain.lower())):
            raise self.fail(key, f"{value!r} is not an email address such as ops@example.com")
        return value

    def adopted(self, key: str) -> AdoptedSettings | None:
        raw = self.mapping(key)
        if raw is None:
            return None
        known = {"fromStack": "", "tableArn": ":dynamodb:", "masterSecretArn": ":secretsmanager:"}
        unknown = set(raw) - set(known)
        if unknown:
            raise self.fail(
                f"{key}.{sorted(unknown)[0]}", f"unknown key; known: {', '.join(known)}"
            )
        values = {}
        for name, service in known.items():
            value = raw.get(name)
            if not isinstance(value, str) or not value or (service and service not in value):
                what = "a stack name" if not service else f"an ARN with {service.strip(':')}"
                raise self.fail(f"{key}.{name}", f"must be {what} (written by `ops rehome`)")
            values[name] = value
        return AdoptedSettings(
            short_name(values["fromStack"]), values["tableArn"], values["masterSecretArn"]
        )

    def payments(self, key: str) -> PaymentSettings:
        raw = self.mapping(key)
        if raw is None:
            return PaymentSettings()
        known = ("baseUrl",)
        unknown = set(raw) - set(known)
        if unknown:
            raise self.fail(
                f"{key}.{sorted(unknown)[0]}", f"unknown key; known: {', '.join(known)}"
            )
        url = raw.get("baseUrl")
        if not isinstance(url, str) or not url:
            raise self.fail(f"{key}.baseUrl", "missing: the payment provider's https:// URL")
        self.https_url(
            f"{key}.baseUrl",
            url,
            "https://api.payments.example (no user, query or fragment: the API key goes in "
            "its secret)",
        )
        return PaymentSettings(base_url=url.rstrip("/"))

    def https_url(self, key: str, url: Any, example: str, *, ip_host: bool = False) -> str:
        """An https URL with a host name (or, with ``ip_host``, an IPv4 address), an optional
        port and path, and no user, query or fragment."""
        parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        try:
            port = parts.port if parts else -1  # raises on a port outside 0 to 65535
        except ValueError:
            port = -1
        host = (parts.hostname or "") if parts else ""
        if (
            parts is None
            or parts.scheme != "https"
            or not (_HOSTNAME.fullmatch(host) or (ip_host and _is_ipv4(host)))
            or port == -1
            or parts.username is not None
            or parts.query
            or parts.fragment
        ):
            raise self.fail(key, f"{url!r} is not an https URL such as {example}")
        return str(url)

    def edge(self, key: str) -> EdgeSettings:
        raw = self.mapping(key) or {}
        known = (
            "corsOrigins", "throttlingRateLimit", "throttlingBurstLimit", "graphqlAuth", "waf",
            "wafRateLimit",
        )  # fmt: skip
        unknown = set(raw) - set(known)
        if unknown:
            raise self.fail(
                f"{key}.{sorted(unknown)[0]}", f"unknown key; known: {', '.join(known)}"
            )
        origins = raw.get("corsOrigins", [])
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            raise self.fail(f"{key}.corsOrigins", "must be a list of origins")
        for origin in origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise self.fail(
                    f"{key}.corsOrigins",
                    f"{origin!r} is not an origin such as https://shop.example.com (no path)",
                )
        if "*" in origins and len(origins) > 1:
            raise self.fail(f"{key}.corsOrigins", "'*' allows every origin; list it alone")
        rate = raw.get("throttlingRateLimit", DEFAULT_THROTTLING_RATE)
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise self.fail(f"{key}.throttlingRateLimit", f"must be a number, not {rate!r}")
        if not 0 < rate <= MAX_THROTTLING_RATE:
            raise self.fail(
                f"{key}.throttlingRateLimit",
                f"{rate} requests a second is outside 0 to {MAX_THROTTLING_RATE:g}",
            )
        burst = _whole(raw.get("throttlingBurstLimit", DEFAULT_THROTTLING_BURST))
        if burst is None or not 1 <= burst <= MAX_THROTTLING_BURST:
            raise self.fail(
                f"{key}.throttlingBurstLimit",
                f"must be a whole number from 1 to {MAX_THROTTLING_BURST}",
            )
        auth = raw.get("graphqlAuth", GraphqlAuth.API_KEY.value)
        try:
            graphql_auth = GraphqlAuth(auth)
        except ValueError:
            allowed = " / ".join(m.value for m in GraphqlAuth)
            raise self.fail(f"{key}.graphqlAuth", f"{auth!r} is not one of {allowed}") from None
        waf = raw.get("waf", False)
        if not isinstance(waf, bool):
            raise self.fail(f"{key}.waf", f"must be true or false, not {waf!r}")
        limit = _whole(raw.get("wafRateLimit", DEFAULT_WAF_RATE_LIMIT))
        if limit is None or not MIN_WAF_RATE_LIMIT <= limit <= MAX_WAF_RATE_LIMIT:
            raise self.fail(
                f"{key}.wafRateLimit",
                f"must be a whole number of requests per 5 minutes from {MIN_WAF_RATE_LIMIT} "
                f"to {MAX_WAF_RATE_LIMIT}",
            )
        return EdgeSettings(
            cors_origins=tuple(origins),
            throttling_rate_limit=float(rate),
            throttling_burst_limit=burst,
            graphql_auth=graphql_auth,
            waf=waf,
            waf_rate_limit=limit,
        )

    def on_prem(self, key: str) -> OnPremSettings | None:
        raw = self.mapping(key)
        if raw is None:
            return None
        known = ("cidrs", "vpn", "directConnectGatewayId", "crmUrl")
        unknown = set(raw) - set(known)
        if unknown:
            raise self.fail(
                f"{key}.{sorted(unknown)[0]}", f"unknown key; known: {', '.join(known)}"
            )
        cidrs = raw.get("cidrs")
        if not isinstance(cidrs, list) or not cidrs:
            raise self.fail(f"{key}.cidrs", "missing: the on-premises CIDRs to route")
        for cidr in cidrs:
            try:
                ipaddress.IPv4Network(str(cidr), strict=True)
            except ValueError:
                raise self.fail(f"{key}.cidrs", f"{cidr!r} is not an IPv4 CIDR") from None
        vpn = None
        if raw.get("vpn") is not None:
            vpn_raw = raw["vpn"]
            if not isinstance(vpn_raw, Mapping):
                raise self.fail(f"{key}.vpn", "must be a mapping of customerGatewayIp and bgpAsn")
            ip, asn = vpn_raw.get("customerGatewayIp"), vpn_raw.get("bgpAsn")
            try:
                ipaddress.IPv4Address(str(ip))
            except ValueError:
                raise self.fail(
                    f"{key}.vpn.customerGatewayIp", f"{ip!r} is not an IPv4 address"
                ) from None
            if isinstance(asn, bool) or not isinstance(asn, int) or not 1 <= asn <= 4294967294:
                raise self.fail(f"{key}.vpn.bgpAsn", f"{asn!r} is not a BGP ASN")
            vpn = VpnSettings(str(ip), asn)
        dx = raw.get("directConnectGatewayId")
        if dx is not None and (not isinstance(dx, str) or not dx):
            raise self.fail(f"{key}.directConnectGatewayId", "must be a Direct Connect gateway id")
        if vpn is None and dx is None:
            raise self.fail(key, "needs a vpn, a directConnectGatewayId, or both")
        crm = raw.get("crmUrl")
        if crm is not None:
            crm = self.https_url(
                f"{key}.crmUrl",
                crm,
                "https://crm.corp.example/api/customers (a host name or IPv4 address; no "
                "user, query or fragment)",
                ip_host=True,
            )
        return OnPremSettings(tuple(str(c) for c in cidrs), vpn, dx, crm)

    def reject_unknown(self) -> None:
        for key in self.values:
            if key not in self.seen and ":" not in key:
                raise self.fail(key, f"unknown key; known keys: {', '.join(_KNOWN_KEYS)}")
