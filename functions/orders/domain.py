"""The order domain: the request a client sends, its validation, identities and statuses.

Pure Python: no boto3, no database driver, so every rule here is tested in memory.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.orders.money import (
    ALLOWED_CURRENCIES,
    MAX_ORDER_TOTAL,
    MAX_UNIT_PRICE,
    order_total,
)

MAX_BODY_BYTES = 64 * 1024
MAX_ITEMS = 100
MIN_QUANTITY, MAX_QUANTITY = 1, 1000
MAX_TOKEN_LENGTH = 512
IDEMPOTENCY_HEADER = "idempotency-key"

# Always used with fullmatch, as the read side's ID_PATTERN is.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
# Visible ASCII (printable, no space): what clients put in headers, safe in logs and keys.
# Always used with fullmatch: `$` would also match before a final newline.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# Namespace of order ids: uuid5(namespace, key) makes the same key the same order everywhere.
_ORDER_NAMESPACE = uuid.UUID("6f1f4a3e-7c0b-5d2e-9a61-3c1e0d9b8a47")


class ValidationError(ValueError):
    """A request the API refuses, with the HTTP status, a stable code and the offending field."""

    def __init__(self, code: str, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status


@dataclass(frozen=True)
class OrderLine:
    """One line of an order: a SKU, how many, and the unit price in minor units."""

    sku: str
    quantity: int
    unit_price: int

    def to_json(self) -> dict[str, Any]:
        """The line in the API's shape."""
        return {"sku": self.sku, "quantity": self.quantity, "unitPrice": self.unit_price}


@dataclass(frozen=True)
class OrderRequest:
    """A validated ``POST /orders`` body."""

    customer_id: str
    currency: str
    items: tuple[OrderLine, ...]
    payment_token: str

    @property
    def total(self) -> int:
        """The order total in minor units."""
        return order_total((line.quantity, line.unit_price) for line in self.items)

    def to_json(self) -> dict[str, Any]:
        """The request in the API's shape, the form that is hashed and handed to the saga."""
        return {
            "customerId": self.customer_id,
            "currency": self.currency,
            "items": [line.to_json() for line in self.items],
            "payment": {"token": self.payment_token},
        }

    def fingerprint(self) -> str:
        """A hash of the request's meaning: equal for the same order however the JSON was spaced."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class OrderStatus(enum.StrEnum):
    """Where an order stands; FAILED carries a cause in the order record."""

    PENDING = "PENDING"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"


_NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.AUTHORIZED, OrderStatus.FAILED}),
    OrderStatus.AUTHORIZED: frozenset({OrderStatus.CAPTURED, OrderStatus.FAILED}),
    OrderStatus.CAPTURED: frozenset({OrderStatus.CONFIRMED, OrderStatus.FAILED}),
    # Terminal: a confirmed order is refunded by a new business process, not by this saga.
    OrderStatus.CONFIRMED: frozenset(),
    OrderStatus.FAILED: frozenset(),
}


class InvalidTransition(ValueError):
    """A status change the order's life cycle does not allow."""


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """True when an order in ``current`` may move to ``target``."""
    return target in _NEXT[current]


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Raise InvalidTransition unless ``current`` may move to ``target``."""
    if not can_transition(current, target):
        raise InvalidTransition(f"an order cannot go from {current} to {target}")


def order_id_for(idempotency_key: str) -> str:
    """The order id a key stands for: the same key always names the same order."""
    return str(uuid.uuid5(_ORDER_NAMESPACE, idempotency_key))


def lower_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Headers with lower-case names, as HTTP says names are case-insensitive."""
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def check_idempotency_key(key: object) -> str:
    """``key`` if it is an acceptable Idempotency-Key, else the ValidationError the API answers."""
    if key is None or key == "":
        raise ValidationError(
            "MISSING_IDEMPOTENCY_KEY", "the Idempotency-Key header is required", "Idempotency-Key"
        )
    if not isinstance(key, str) or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationError(
            "INVALID_IDEMPOTENCY_KEY",
            "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces)",
            "Idempotency-Key",
        )
    return key


def parse_idempotency_key(headers: Mapping[str, str]) -> str:
    """The request's Idempotency-Key; ``headers`` must have lower-case names."""
    return check_idempotency_key(headers.get(IDEMPOTENCY_HEADER))


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValidationError("DUPLICATE_FIELD", f"field {key!r} appears twice", key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValidationError("INVALID_JSON", f"{name} is not a number JSON allows")


def _parse_json(body: str | bytes) -> Any:
    try:
        # An event's body may hold an unpaired surrogate, which has no UTF-8 form.
        raw = body.encode() if isinstance(body, str) else body
    except UnicodeEncodeError as exc:
        raise ValidationError("INVALID_JSON", "the body is not valid UTF-8 text") from exc
    if len(raw) > MAX_BODY_BYTES:
        raise ValidationError(
            "BODY_TOO_LARGE", f"the body exceeds {MAX_BODY_BYTES} bytes", status=413
        )
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
        # "\ud800" escapes decode to an unpaired surrogate: not text anything downstream
        # (the provider, the logs, PostgreSQL) can take, so it is refused here.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except ValidationError:
        raise
    # RecursionError: deeply nested arrays; ValueError covers bad UTF-8, bad JSON, unpaired
    # surrogates and integers longer than Python's digit limit.
    except (ValueError, RecursionError) as exc:
        raise ValidationError("INVALID_JSON", "the body is not valid JSON") from exc


def _object(value: Any, field: str, expected: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(
            "INVALID_TYPE", f"{field or 'the body'} must be an object", field or None
        )
    prefix = f"{field}." if field else ""
    for name in sorted(expected - value.keys()):
        raise ValidationError("MISSING_FIELD", f"{prefix}{name} is required", prefix + name)
    for name in sorted(value.keys() - expected):
        raise ValidationError(
            "UNKNOWN_FIELD", f"{prefix}{name} is not a known field", prefix + name
        )
    return value


def _identifier(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError("INVALID_TYPE", f"{field} must be a string", field)
    if not _ID.fullmatch(value):
        raise ValidationError(
            "INVALID_VALUE", f"{field} must be 1 to 64 letters, digits or _.:- characters", field
        )
    return value


def _integer(value: Any, field: str, low: int, high: int) -> int:
    # bool is a subclass of int, and floats such as 19.99 must never pass as money.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("INVALID_TYPE", f"{field} must be an integer", field)
    if not low <= value <= high:
        raise ValidationError("OUT_OF_RANGE", f"{field} must be between {low} and {high}", field)
    return value


def parse_order_request(body: str | bytes | None) -> OrderRequest:
    """Validate a ``POST /orders`` body, raising ValidationError with the first problem found."""
    if body is None or body == "" or body == b"":
        raise ValidationError("MISSING_BODY", "a JSON body is required")
    data = _object(_parse_json(body), "", {"customerId", "currency", "items", "payment"})
    customer_id = _identifier(data["customerId"], "customerId")
    currency = data["currency"]
    if not isinstance(currency, str):
        raise ValidationError("INVALID_TYPE", "currency must be a string", "currency")
    if currency not in ALLOWED_CURRENCIES:
        raise ValidationError(
            "UNSUPPORTED_CURRENCY",
            f"currency must be one of {', '.join(sorted(ALLOWED_CURRENCIES))}",
            "currency",
        )
    items = data["items"]
    if not isinstance(items, list):
        raise ValidationError("INVALID_TYPE", "items must be an array", "items")
    if not 1 <= len(items) <= MAX_ITEMS:
        raise ValidationError("OUT_OF_RANGE", f"items must hold 1 to {MAX_ITEMS} lines", "items")
    lines = []
    for index, item in enumerate(items):
        field = f"items[{index}]"
        obj = _object(item, field, {"sku", "quantity", "unitPrice"})
        lines.append(
            OrderLine(
                sku=_identifier(obj["sku"], f"{field}.sku"),
                quantity=_integer(obj["quantity"], f"{field}.quantity", MIN_QUANTITY, MAX_QUANTITY),
                unit_price=_integer(obj["unitPrice"], f"{field}.unitPrice", 0, MAX_UNIT_PRICE),
            )
        )
    payment = _object(data["payment"], "payment", {"token"})
    token = payment["token"]
    if not isinstance(token, str):
        raise ValidationError("INVALID_TYPE", "payment.token must be a string", "payment.token")
    if not token.strip() or len(token) > MAX_TOKEN_LENGTH:
        raise ValidationError(
            "INVALID_VALUE",
            f"payment.token must be 1 to {MAX_TOKEN_LENGTH} characters",
            "payment.token",
        )
    request = OrderRequest(customer_id, currency, tuple(lines), token)
    if request.total <= 0:
        raise ValidationError("OUT_OF_RANGE", "the order total must be more than zero", "items")
    if request.total > MAX_ORDER_TOTAL:
        raise ValidationError(
            "OUT_OF_RANGE",
            f"the order total must be at most {MAX_ORDER_TOTAL} minor units, got {request.total}",
            "items",
        )
    return request
