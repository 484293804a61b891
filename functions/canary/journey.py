"""The journeys a canary walks in each region, as plain code over a ``get`` and a ``post`` port.

The read journey: ``GET /health`` must answer 200 ``{"status": "ok", "region": ...}``, then
``GET /orders/{id}`` of a known order must answer 200 with that order's view.

The write journey: ``POST /synthetic/orders`` (IAM-authorized: the canary signs it) of an
order for the canary's customer must answer 202 with its id, then ``GET /orders/{id}`` in the
same region must show it CONFIRMED within a deadline: the write went to the writer (forwarded
when this region does not write), the saga ran (charging no one: functions/synthetic.py), and
the view came back through the projector and the global table.

Every request carries the run's correlation id (``x-correlation-id``), so the functions' log
lines of a failed run are one Logs Insights query away. Imports nothing from AWS: the tests
walk the journeys against the handlers, the canary (``functions/canary/handler.py``) over
HTTPS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions import synthetic
from functions.correlation import HEADER


@dataclass(frozen=True)
class Answer:
    """What a GET answered: its status and its JSON body (None when it was not JSON)."""

    status: int
    body: Any


# get(path, headers) -> Answer; raises OSError (or a subclass) when nothing answered.
Get = Callable[[str, dict[str, str]], Answer]
# post(path, headers, body) -> Answer, signed by whoever provides it; OSError as for get.
Post = Callable[[str, dict[str, str], bytes], Answer]


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


# How long a synthetic order may take from 202 to CONFIRMED in the region that took it: the
# saga's five steps, the projector's queue and the global table's replication (typically
# within a second: docs/observability.md) with room for a cold start of each function.
WRITE_DEADLINE_SECONDS = 60.0
POLL_SECONDS = 2.0


def synthetic_order() -> dict[str, Any]:
    """The body the write canary posts: one unit of a synthetic SKU for the canary customer."""
    return {
        "customerId": synthetic.CUSTOMER_ID,
        "currency": "USD",
        "items": [{"sku": "SYNTHETIC", "quantity": 1, "unitPrice": 1}],
        "payment": {"token": "synthetic"},
    }


def write_journey(
    post: Post,
    get: Get,
    idempotency_key: str,
    correlation_id: str,
    deadline_seconds: float = WRITE_DEADLINE_SECONDS,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Step]:
    """Walk the write journey; the steps that passed, or JourneyFailed at the first that did not.

    A 404 or a PENDING view while polling is the order on its way; FAILED, any other status,
    or no CONFIRMED view by the deadline fails the run, saying what was last seen.
    """
    began = clock()
    order_id, placing = _place(post, idempotency_key, correlation_id, clock)
    path = f"/orders/{order_id}"
    last = "nothing yet"
    while True:
        try:
            seen, _ = _get(get, "confirmed", path, correlation_id)
        except JourneyFailed as exc:
            last = str(exc)  # no answer this time: the next poll may get one
        else:
            if _confirmed(seen, order_id, path):
                return [placing, Step("confirmed", 200, (clock() - began) * 1000)]
            status = seen.body.get("status") if isinstance(seen.body, dict) else None
            last = f"{seen.status} {status or ''}".strip()
        if clock() - began + poll_seconds > deadline_seconds:
            raise JourneyFailed(
                f"confirmed: order {order_id} not CONFIRMED within {deadline_seconds:g} s "
                f"(last seen: {last})"
            )
        sleep(poll_seconds)


def _place(
    post: Post, idempotency_key: str, correlation_id: str, clock: Callable[[], float]
) -> tuple[str, Step]:
    """POST the synthetic order; its id and the step, or JourneyFailed unless 202 with an id."""
    headers = {
        HEADER: correlation_id,
        "accept": "application/json",
        "content-type": "application/json",
        "idempotency-key": idempotency_key,
    }
    began = clock()
    try:
        placed = post(synthetic.PATH, headers, json.dumps(synthetic_order()).encode())
    except OSError as exc:
        raise JourneyFailed(f"place: no answer from POST {synthetic.PATH}: {exc}") from exc
    order_id = placed.body.get("orderId") if isinstance(placed.body, dict) else None
    if placed.status != 202 or not isinstance(order_id, str):
        raise JourneyFailed(
            f"place: POST {synthetic.PATH} answered {placed.status}: {placed.body!r:.300}"
        )
    return order_id, Step("place", placed.status, (clock() - began) * 1000)


def _confirmed(seen: Answer, order_id: str, path: str) -> bool:
    """True for the CONFIRMED view; False while on its way (404, PENDING); else JourneyFailed."""
    status = seen.body.get("status") if isinstance(seen.body, dict) else None
    if seen.status == 200 and status == "CONFIRMED":
        return True
    if seen.status == 200 and status == "FAILED":
        raise JourneyFailed(f"confirmed: order {order_id} FAILED: {seen.body!r:.300}")
    if seen.status not in (200, 404):
        raise JourneyFailed(f"confirmed: GET {path} answered {seen.status}: {seen.body!r:.300}")
    return False


# The order every region's table holds for the canary to read: written once by the home stack
# (components/canaries.py), replicated by the global table. Its id is no uuid5, so no key a
# client sends can name it, and its customer places nothing.
KNOWN_ORDER_ID = "synthetic-canary-order"
KNOWN_CUSTOMER_ID = synthetic.CUSTOMER_ID


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
