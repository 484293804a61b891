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
