"""The read journey a canary walks in each region, as plain code over one ``get`` port.

``GET /health`` must answer 200 ``{"status": "ok", "region": ...}``, then ``GET
/orders/{id}`` of a known order must answer 200 with that order's view. Every request carries
the run's correlation id (``x-correlation-id``), so the functions' log lines of a failed run
are one Logs Insights query away. Imports nothing from AWS: the tests walk it against the
handlers, the canary (``functions/canary/handler.py``) over HTTPS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.correlation import HEADER


@dataclass(frozen=True)
class Answer:
    """What a GET answered: its status and its JSON body (None when it was not JSON)."""

    status: int
    body: Any


# get(path, headers) -> Answer; raises OSError (or a subclass) when nothing answered.
Get = Callable[[str, dict[str, str]], Answer]


class JourneyFailed(AssertionError):
    """A step did not get the answer a user needs; the message says which and what came."""


@dataclass(frozen=True)
class Step:
    """One step that passed: what was asked and how long it took."""

    name: str
    status: int
    milliseconds: float


def _get(get: Get, name: str, path: str, correlation_id: str) -> tuple[Answer, Step]:
    began = time.monotonic()
    try:
        answer = get(path, {HEADER: correlation_id, "accept": "application/json"})
    except OSError as exc:
        raise JourneyFailed(f"{name}: no answer from GET {path}: {exc}") from exc
    return answer, Step(name, answer.status, (time.monotonic() - began) * 1000)


def read_journey(get: Get, order_id: str, correlation_id: str) -> list[Step]:
    """Walk the read journey; the steps that passed, or JourneyFailed at the first that did not."""
    health, checked = _get(get, "health", "/health", correlation_id)
    if health.status != 200 or not isinstance(health.body, dict):
        raise JourneyFailed(f"health: GET /health answered {health.status}: {health.body!r:.300}")
    if health.body.get("status") != "ok":
        raise JourneyFailed(f"health: the region says {health.body!r:.300}")
    order, read = _get(get, "order", f"/orders/{order_id}", correlation_id)
    if order.status != 200 or not isinstance(order.body, dict):
        raise JourneyFailed(
            f"order: GET /orders/{order_id} answered {order.status}: {order.body!r:.300}"
        )
    if order.body.get("orderId") != order_id:
        raise JourneyFailed(f"order: asked for {order_id}, got {order.body!r:.300}")
    return [checked, read]


# The order every region's table holds for the canary to read: written once by the home stack
# (components/canaries.py), replicated by the global table. Its id is no uuid5, so no key a
# client sends can name it, and its customer places nothing.
KNOWN_ORDER_ID = "synthetic-canary-order"
KNOWN_CUSTOMER_ID = "synthetic-canary"


def known_order_view() -> dict[str, Any]:
    """The known order's view, as GET /orders/{id} returns it."""
    return {
        "orderId": KNOWN_ORDER_ID,
        "customerId": KNOWN_CUSTOMER_ID,
        "status": "CONFIRMED",
        "items": [{"sku": "SYNTHETIC", "quantity": 1, "unitPrice": 1}],
        "total": 1,
        "currency": "USD",
        "payment": {"status": "CAPTURED"},
        "updatedAt": "2026-01-01T00:00:00Z",
    }
