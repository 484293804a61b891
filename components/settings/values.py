"""The kinds of value a stack file holds, each checked for what it is and described once.

Every kind is an ``Annotated`` type: its check (an ``AfterValidator`` that raises ``ValueError``
with what is wrong and what would be right) and its description (``Says``), which the README's
config table and the error messages both use.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from components.settings import aws
from components.settings.errors import PROJECT


@dataclass(frozen=True)
class Says:
    """What a value is, in the words the README's config table and the error messages use."""

    text: str


def _checked(problem: Callable[[Any], str | None]) -> AfterValidator:
    """A validator that refuses a value with the message ``problem`` returns for it."""

    def check(value: Any) -> Any:
        message = problem(value)
        if message is not None:
            raise ValueError(message)
        return value

    return AfterValidator(check)


def _as_tuple(value: Any) -> Any:
    """YAML lists arrive as lists; settings keep tuples. Anything else is left to be refused."""
    return tuple(value) if isinstance(value, list) else value


def _no_repeats(values: tuple[Any, ...]) -> tuple[Any, ...]:
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"names {repeated[0]} twice; list each once")
    return values


# A list in a stack file: a YAML list, each item checked, none repeated.
AS_TUPLE = BeforeValidator(_as_tuple)
NO_REPEATS = AfterValidator(_no_repeats)

_HOSTNAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
# Deliberately loose: SNS is the judge of an address; this catches typos and URLs.
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_ORIGIN = re.compile(r"https?://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]+(:[0-9]{1,5})?")
# Route 53 hosted zone ids: Z and upper-case letters and digits (`aws route53 list-hosted-zones`).
_ZONE_ID = re.compile(r"Z[A-Z0-9]{1,32}")
# Stack names end up in AWS names: lower case for S3 and CloudWatch, no dots for SQS and Lambda,
# and at most 31 characters so that the longest function name,
# `active-active-<stack>-void-authorization`, fits Lambda's 64 without being cut.
MAX_STACK_NAME = 31
_STACK_NAME = re.compile(rf"[a-z]([a-z0-9-]{{0,{MAX_STACK_NAME - 2}}}[a-z0-9])?")
# Pulumi organization names: letters, digits, hyphens, underscores and dots.
_ORGANIZATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_ACCOUNT = r"[0-9]{12}"
_REGION = r"[a-z]{2}(-[a-z]+)+-[0-9]+"
_TABLE_ARN = re.compile(rf"arn:aws:dynamodb:{_REGION}:{_ACCOUNT}:table/[A-Za-z0-9_.-]{{3,255}}")
_SECRET_ARN = re.compile(rf"arn:aws:secretsmanager:{_REGION}:{_ACCOUNT}:secret:[A-Za-z0-9/_+=.@-]+")


def stack_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a stack's name, or None."""
    if _STACK_NAME.fullmatch(name):
        return None
    return (
        f"{name!r} cannot be a stack name: lower-case letters, digits and hyphens, starting with "
        f"a letter, at most {MAX_STACK_NAME} characters (it ends up in S3, SQS and Lambda names)"
    )


def _stack_ref(value: str) -> str | None:
    parts = value.split("/")
    example = f"organization/{PROJECT}/{parts[-1] or 'primary'}"
    if len(parts) != 3:
        return (
            f"{value!r} is not a fully qualified stack name: write <organization>/{PROJECT}/"
            f"<stack>, such as {example} (a StackReference needs all three parts)"
        )
    organization, project, stack = parts
    if not _ORGANIZATION.fullmatch(organization):
        return f"{value!r}: {organization!r} is not a Pulumi organization name"
    if project != PROJECT:
        return f"{value!r} names project {project!r}; the stacks of this project are {example}"
    return stack_name_problem(stack)


def _vpc_cidr(value: str) -> str | None:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return f"{value!r} is not an IPv4 CIDR such as 10.10.0.0/16 (host bits zero)"
    if not 16 <= network.prefixlen <= 24:
        return f"{value} must be between a /16 and a /24 (AWS allows /16 to /28; subnets need room)"
    if network.is_loopback or network.is_link_local or network.is_multicast or network.is_reserved:
        return f"{value} is a loopback, link-local, multicast or reserved range; AWS refuses it"
    return None


def _cidr(value: str) -> str | None:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return f"{value!r} is not an IPv4 CIDR such as 192.168.0.0/16 (host bits zero)"
    return None


def _ipv4(value: str) -> str | None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return f"{value!r} is not an IPv4 address such as 203.0.113.10"
    return None


def _hostname(value: str) -> str | None:
    if _HOSTNAME.fullmatch(value):
        return None
    if "://" in value or "/" in value:
        host = urllib.parse.urlsplit(value if "://" in value else f"//{value}").hostname
        return f"{value!r} is a URL; write the host name alone: {host or 'api.example.com'}"
    if _HOSTNAME.fullmatch(value.lower()):
        return f"{value!r}: write host names in lower case: {value.lower()}"
    return f"{value!r} is not a host name such as api.example.com (no scheme, port or path)"


def _zone_id(value: str) -> str | None:
    if _ZONE_ID.fullmatch(value):
        return None
    if _HOSTNAME.fullmatch(value.lower().rstrip(".")):
        return (
            f"{value!r} is the zone's name; write its id, such as Z0123456789ABCDEFGHIJ "
            "(`aws route53 list-hosted-zones`)"
        )
    return f"{value!r} is not a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ"


def _email(value: str) -> str | None:
    local, at, domain = value.rpartition("@")
    if at and _EMAIL_LOCAL.fullmatch(local) and _HOSTNAME.fullmatch(domain.lower()):
        return None
    return f"{value!r} is not an email address such as ops@example.com"


def _origin(value: str) -> str | None:
    if value == "*" or _ORIGIN.fullmatch(value):
        return None
    return f"{value!r} is not an origin such as https://shop.example.com (no path), or '*'"


def _is_ipv4(host: str) -> bool:
    return _ipv4(host) is None


def https_url_problem(url: str, example: str, *, ip_host: bool = False) -> str | None:
    """Why ``url`` is not an https URL with a host name (or, with ``ip_host``, an IPv4
    address), an optional port and path, and no user, query or fragment; or None."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port  # raises on a port outside 0 to 65535
    except ValueError:
        port = -1
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or not (_HOSTNAME.fullmatch(host) or (ip_host and _is_ipv4(host)))
        or port == -1
        or parts.username is not None
        or parts.query
        or parts.fragment
    ):
        return f"{url!r} is not an https URL such as {example}"
    return None


def _payments_url(url: str) -> str | None:
    return https_url_problem(
        url,
        "https://api.payments.example (no user, query or fragment: the API key goes in its secret)",
    )


def _crm_url(url: str) -> str | None:
    return https_url_problem(
        url,
        "https://crm.corp.example/api/customers (a host name or IPv4 address; no user, query or "
        "fragment)",
        ip_host=True,
    )


def _region(value: str) -> str | None:
    return aws.region_problem(value)


def _engine_version(value: str) -> str | None:
    return aws.engine_version_problem(value)


def _direct_connect_gateway(value: str) -> str | None:
    if value and not any(c.isspace() for c in value):
        return None
    return f"{value!r} is not a Direct Connect gateway id"


def _arn(pattern: re.Pattern[str], example: str) -> Callable[[str], str | None]:
    def problem(value: str) -> str | None:
        if pattern.fullmatch(value):
            return None
        return f"{value!r} is not an ARN such as {example} (written by `ops rehome`)"

    return problem


Region = Annotated[
    str,
    _checked(_region),
    Says("an AWS region that offers every service the stack uses, such as `eu-west-1`"),
]
VpcCidr = Annotated[str, _checked(_vpc_cidr), Says("an IPv4 CIDR from /16 to /24")]
Cidr = Annotated[str, _checked(_cidr), Says("an IPv4 CIDR")]
IPv4 = Annotated[str, _checked(_ipv4), Says("an IPv4 address")]
StackRef = Annotated[
    str,
    _checked(_stack_ref),
    Says(f"a fully qualified stack name, `<organization>/{PROJECT}/<stack>`"),
]
StackName = Annotated[str, _checked(stack_name_problem), Says("a stack name")]
Hostname = Annotated[
    str,
    _checked(_hostname),
    Says("a host name (no scheme, port or path), such as `api.example.com`"),
]
ZoneId = Annotated[
    str, _checked(_zone_id), Says("a Route 53 hosted zone id, such as `Z0123456789ABCDEFGHIJ`")
]
Email = Annotated[str, _checked(_email), Says("an email address")]
Origin = Annotated[
    str, _checked(_origin), Says("an origin such as `https://shop.example.com`, or `*`")
]
PaymentsUrl = Annotated[
    str,
    _checked(_payments_url),
    AfterValidator(lambda url: url.rstrip("/")),
    Says("an `https://` URL with no user, query or fragment"),
]
CrmUrl = Annotated[
    str,
    _checked(_crm_url),
    Says("an `https://` URL with a host name or IPv4 address and no user, query or fragment"),
]
EngineVersion = Annotated[
    str,
    _checked(_engine_version),
    Says('an Aurora PostgreSQL version with Serverless v2, quoted, such as `"16.6"`'),
]
DirectConnectGatewayId = Annotated[
    str, _checked(_direct_connect_gateway), Says("a Direct Connect gateway id")
]
TableArn = Annotated[
    str,
    _checked(_arn(_TABLE_ARN, "arn:aws:dynamodb:us-east-1:123456789012:table/orders")),
    Says("a DynamoDB table ARN"),
]
SecretArn = Annotated[
    str,
    _checked(_arn(_SECRET_ARN, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf")),
    Says("a Secrets Manager secret ARN"),
]
