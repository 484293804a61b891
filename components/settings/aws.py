"""What AWS offers, as far as it can be known offline: regions and their services, Aurora
PostgreSQL versions, and the config keys of the aws provider.

Regions and services come from the endpoint data of the installed botocore
(``botocore/data/endpoints.json``), the same data the AWS SDK and CLI resolve endpoints with;
upgrading botocore is how a new region becomes usable. That data says a service has an endpoint
in a region, not that every feature of it is offered there (Aurora global databases and
Serverless v2 are not in every region that has RDS); AWS has the last word at deploy time.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import re
from pathlib import Path
from typing import Any

# The only partition whose regions the stacks can deploy to: they build `arn:aws:` ARNs.
PARTITION = "aws"

# Every regional service the stack uses, by its endpoint prefix in endpoints.json (`states` is
# Step Functions, `monitoring` CloudWatch), with what uses it. Global services are not listed:
# IAM, Route 53, CloudFront and the CloudFront-scope WAF are served from us-east-1 for every
# region. Direct Connect is checked only where onPrem names a gateway.
REGIONAL_SERVICES = {
    "ec2": "the VPC, its NAT gateways and endpoints, the Transit Gateway and its peerings",
    "rds": "Aurora PostgreSQL",
    "dynamodb": "the global table, the connections and idempotency tables",
    "lambda": "every function",
    "states": "the checkout saga (Step Functions)",
    "events": "the event bus (EventBridge)",
    "sqs": "the queues and dead-letter queues",
    "sns": "the alarm topic",
    "kms": "the region's key",
    "secretsmanager": "the master secret's replica, the payment key, the page-token key",
    "s3": "the lake bucket",
    "glue": "the lake's table",
    "athena": "the lake's workgroup",
    "firehose": "the delivery stream into the lake",
    "logs": "every log group",
    "monitoring": "the CloudWatch alarms",
    "xray": "tracing of the functions and the saga",
    "apigateway": "the HTTP and WebSocket APIs",
    "appsync": "the GraphQL API",
    "acm": "the regional API's certificate",
}
DIRECT_CONNECT = "directconnect"


@functools.cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@functools.cache
def partition_regions() -> dict[str, frozenset[str]]:
    """Every region botocore knows, by partition (``aws``, ``aws-cn``, ``aws-us-gov``, ...)."""
    data = _session().get_data("endpoints")
    return {p["partition"]: frozenset(p["regions"]) for p in data["partitions"]}


@functools.cache
def service_regions(service: str) -> frozenset[str]:
    """The regions of the ``aws`` partition where ``service`` (its endpoint prefix, as
    endpoints.json names it: ``states`` for Step Functions) has an endpoint."""
    data = _session().get_data("endpoints")
    partition = next(p for p in data["partitions"] if p["partition"] == PARTITION)
    endpoints = partition["services"].get(service, {}).get("endpoints", {})
    return frozenset(endpoints) & frozenset(partition["regions"])


def region_problem(region: str, *, direct_connect: bool = False) -> str | None:
    """Why ``region`` cannot hold a stack, or None when it can."""
    regions = partition_regions()
    if region not in regions.get(PARTITION, ()):
        other = next((p for p, names in regions.items() if region in names), None)
        if other is not None:
            return (
                f"{region} is in the {other} partition; the stacks build arn:aws: ARNs and "
                f"deploy to the {PARTITION} partition's regions only"
            )
        close = difflib.get_close_matches(region, sorted(regions[PARTITION]), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ", such as eu-west-1"
        return f"{region!r} is not an AWS region (botocore's endpoint data){hint}"
    needed = dict(REGIONAL_SERVICES)
    if direct_connect:
        needed[DIRECT_CONNECT] = "the Direct Connect gateway association"
    missing = [s for s in needed if region not in service_regions(s)]
    if missing:
        what = "; ".join(f"{s} ({needed[s]})" for s in missing)
        return (
            f"{region} does not offer every service the stack uses, per the installed "
            f"botocore's endpoint data: no {what}; choose another region"
        )
    # Imported here: the network module imports this package.
    from components.network import transit_gateway_asn

    try:
        transit_gateway_asn(region)
    except ValueError:
        return (
            f"{region} has no Transit Gateway ASN in components/network.py (_REGIONS): add it "
            "at the end of that list, so that no other region's ASN changes"
        )
    return None


# Aurora PostgreSQL major versions and the first minor version of each with Serverless v2
# (AWS, "Aurora Serverless v2 supported Regions and versions"); every one of them supports
# global databases. An older major or minor version cannot run `db.serverless` instances.
SERVERLESS_V2_VERSIONS = {13: 6, 14: 3, 15: 2, 16: 1, 17: 4}
# 0 ACU (auto-pause) needs a recent minor version per major version (AWS, "Scaling to zero
# ACUs with automatic pause and resume for Aurora Serverless v2").
AUTO_PAUSE_MIN_VERSIONS = {13: 15, 14: 12, 15: 7, 16: 3, 17: 4}
_VERSION = re.compile(r"([1-9][0-9]*)\.(0|[1-9][0-9]*)")


def engine_version_problem(version: str) -> str | None:
    """Why ``version`` is not an Aurora PostgreSQL version this stack can run, or None."""
    match = _VERSION.fullmatch(version)
    if match is None:
        return (
            f"{version!r} is not an Aurora PostgreSQL version: write major.minor in quotes, "
            'such as "16.6"'
        )
    major, minor = int(match[1]), int(match[2])
    supported = ", ".join(f"{m}.{n}" for m, n in SERVERLESS_V2_VERSIONS.items())
    if major not in SERVERLESS_V2_VERSIONS or minor < SERVERLESS_V2_VERSIONS[major]:
        return (
            f"Aurora PostgreSQL {version} has no Serverless v2 (db.serverless); use {supported} "
            "or a later minor version of the same major version"
        )
    return None


def supports_auto_pause(version: str) -> bool:
    """True when an Aurora PostgreSQL version accepts a minimum of 0 ACU."""
    match = _VERSION.fullmatch(version)
    if match is None:
        return False
    major, minor = int(match[1]), int(match[2])
    if major not in AUTO_PAUSE_MIN_VERSIONS:
        return major > max(AUTO_PAUSE_MIN_VERSIONS)
    return minor >= AUTO_PAUSE_MIN_VERSIONS[major]


def auto_pause_versions() -> str:
    """The first version with auto-pause of each major version, for messages."""
    return ", ".join(f"{m}.{n}" for m, n in AUTO_PAUSE_MIN_VERSIONS.items())


@functools.cache
def provider_keys() -> frozenset[str]:
    """The config keys of the installed pulumi-aws provider (``aws:<key>``).

    Read from the provider's own declaration of its config (``pulumi_aws/config/vars.py``), so
    that a typo such as ``aws:regoin`` is refused rather than ignored.
    """
    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or not spec.submodule_search_locations:
        return frozenset({"region"})
    source = Path(next(iter(spec.submodule_search_locations))) / "config" / "vars.py"
    return frozenset(re.findall(r"__config__\.get\w*\('([A-Za-z0-9]+)'\)", source.read_text()))
