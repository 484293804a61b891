"""The order view exactly as the API returns it, and the rules for the ids and limits it accepts.

DynamoDB hands numbers back as ``Decimal``; the API promises integers in minor units, so
every stored view goes through :func:`api_view`, which also drops any attribute the API
does not document (a projector that adds a field must not leak it to clients).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from functions.read_side.errors import CorruptView, InvalidInput

# Ids end up inside keys such as CUSTOMER#<id>: '#' and anything outside this set would let
# a caller address another kind of item, so they are refused before any read. Same rule
# as the write API applies to the ids it accepts.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def valid_id(value: object, field: str) -> str:
    """``value`` if it is a well-formed id, else :class:`InvalidInput` naming ``field``."""
    if not isinstance(value, str) or ID_PATTERN.fullmatch(value) is None:
        raise InvalidInput(f"{field} must be 1 to 64 letters, digits, '_', '.', ':' or '-'", field)
    return value


def valid_limit(raw: object) -> int:
    """The page size a client asked for (default 20), or :class:`InvalidInput`."""
    if raw is None:
        return DEFAULT_LIMIT
    if isinstance(raw, bool):
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 3:
        value = int(raw)
    else:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
    return value


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise CorruptView(f"stored view has a non-integer {name}")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise CorruptView(f"stored view has a non-integer {name}")


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise CorruptView(f"stored view has no text {name}")
    return value


def api_view(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The API's order view from a stored ``view`` attribute: exact fields, integer money."""
    try:
        return {
            "orderId": _text(stored["orderId"], "orderId"),
            "customerId": _text(stored["customerId"], "customerId"),
            "status": _text(stored["status"], "status"),
            "items": [
                {
                    "sku": _text(item["sku"], "sku"),
                    "quantity": _integer(item["quantity"], "quantity"),
                    "unitPrice": _integer(item["unitPrice"], "unitPrice"),
                }
                for item in stored["items"]
            ],
            "total": _integer(stored["total"], "total"),
            "currency": _text(stored["currency"], "currency"),
            "payment": {"status": _text(stored["payment"]["status"], "payment.status")},
            "updatedAt": _text(stored["updatedAt"], "updatedAt"),
        }
    except (KeyError, TypeError) as missing:
        raise CorruptView(f"stored view lacks {missing}") from missing
