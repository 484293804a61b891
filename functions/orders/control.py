"""The control record's codec and its one definition of well-formed, for readers and writers.

The record (``pk=CONTROL, sk=PRIMARY`` in the global table) names the region that writes, the
URL of its internal write route and the mode. Every write API and order_intake read it; ``ops
failover``, ``ops failback`` and ``ops read-only`` write it. A record that is not well formed
is treated as unreadable (writes answer 503 READ_ONLY, with a log line saying what is wrong),
and the tools refuse to write one.

Pure Python: no boto3, so the ops tools and the functions share it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from functions.orders.ports import ControlRecord, ControlUnavailable, Mode
from functions.orders.read_model import (
    CONTROL_MODE,
    CONTROL_PRIMARY_REGION,
    CONTROL_WRITE_URL,
    control_key,
)

# An AWS region name: us-east-1, eu-central-2, us-gov-west-1, ap-southeast-4, ...
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
# What a read-only record may name when no writer is known (``ops read-only`` writes the
# word ``unknown`` then): still a plain lower-case token, never empty.
_ANY_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


class MalformedControlRecord(ControlUnavailable, ValueError):
    """The control record exists but is not well formed; the message says what is wrong."""


def problems(record: ControlRecord) -> list[str]:
    """What is wrong with ``record``, in words an operator can act on; empty when nothing."""
    found = []
    mode = record.mode
    if not isinstance(mode, Mode):
        found.append(f"mode must be one of {', '.join(m.value for m in Mode)}, got {mode!r}")
    region = record.primary_region
    pattern = _REGION if mode is Mode.NORMAL else _ANY_NAME
    if not isinstance(region, str) or not pattern.fullmatch(region):
        found.append(f"primaryRegion must be an AWS region name, got {region!r}")
    url = record.write_url
    if url is not None:
        found.extend(_url_problems(url))
    return found


def _url_problems(url: object) -> list[str]:
    bad = [f"writeUrl must be an https:// URL with a host name, got {url!r}"]
    if not isinstance(url, str) or url != url.strip():
        return bad
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        return bad
    if parts.scheme != "https" or not parts.hostname or port == 0:
        return bad
    if parts.username is not None or parts.password is not None:
        return ["writeUrl must not carry a user or a password"]
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return ["writeUrl must have no query and no fragment"]
    return []


def check(record: ControlRecord) -> ControlRecord:
    """``record`` if it is well formed, else MalformedControlRecord naming every problem."""
    found = problems(record)
    if found:
        raise MalformedControlRecord("malformed control record: " + "; ".join(found))
    return record


def _string(item: Mapping[str, Any], name: str) -> str:
    if name not in item:
        raise MalformedControlRecord(f"malformed control record: {name} is missing")
    value = item[name]
    if not isinstance(value, Mapping) or set(value) != {"S"} or not isinstance(value["S"], str):
        kind = "/".join(sorted(value)) if isinstance(value, Mapping) else type(value).__name__
        raise MalformedControlRecord(
            f"malformed control record: {name} must be a string, got a {kind} ({value!r})"
        )
    return str(value["S"])


def from_item(item: Mapping[str, Any]) -> ControlRecord:
    """The record from a DynamoDB item (attribute values as the low-level client gives them).

    Raises MalformedControlRecord: a mode stored as a number or a boolean, an empty or
    missing region, a write URL that is not https all make the record unusable.
    """
    mode = _string(item, CONTROL_MODE)
    region = _string(item, CONTROL_PRIMARY_REGION)
    url = _string(item, CONTROL_WRITE_URL) if CONTROL_WRITE_URL in item else None
    try:
        parsed_mode = Mode(mode)
    except ValueError:
        raise MalformedControlRecord(
            f"malformed control record: mode must be one of "
            f"{', '.join(m.value for m in Mode)}, got {mode!r}"
        ) from None
    return check(ControlRecord(region, url, parsed_mode))


def to_item(record: ControlRecord) -> dict[str, dict[str, str]]:
    """The DynamoDB item (attribute values as the low-level client takes them) of ``record``,
    key included; MalformedControlRecord when no reader could use it, so none is written."""
    check(record)
    item = {name: {"S": value} for name, value in control_key().items()}
    item[CONTROL_PRIMARY_REGION] = {"S": record.primary_region}
    item[CONTROL_MODE] = {"S": record.mode.value}
    if record.write_url:
        item[CONTROL_WRITE_URL] = {"S": record.write_url}
    return item
