"""The business metrics the functions emit (CloudWatch EMF) and the dashboards read.

Imports nothing from AWS, so the infra (``components/observability.py``) reads the same
names as the code that emits them: one namespace, one dimension set, one name per counter.
"""

from __future__ import annotations

from dataclasses import dataclass

# Every business metric lives in this namespace, with exactly these dimensions (powertools
# Metrics adds ``service`` from ``SERVICE``; nothing else is added).
NAMESPACE = "ActiveActive/Orders"
SERVICE = "orders"
DIMENSIONS: dict[str, str] = {"service": SERVICE}


@dataclass(frozen=True)
class BusinessMetric:
    """One metric the code emits: its name, unit, and who emits it when."""

    name: str
    unit: str
    emitted_by: str


ORDERS_PLACED = BusinessMetric(
    "OrdersPlaced",
    "Count",
    "functions/saga ReserveOrder, when it creates the order: once per order the write path "
    "accepted (POST /orders, placeOrder, or order_intake in async mode), whichever region "
    "answered the client; a retry of the same key, whose 202 repeats, and a rerun add nothing",
)
ORDERS_CONFIRMED = BusinessMetric(
    "OrdersConfirmed",
    "Count",
    "functions/saga ConfirmOrder, when it confirms the order (a rerun adds nothing)",
)
ORDERS_FAILED = BusinessMetric(
    "OrdersFailed",
    "Count",
    "functions/saga CancelOrder, the saga's last compensation, when it marks the order FAILED "
    "(a rerun adds nothing; a ReserveOrder that refused the request left no order to count)",
)
FORWARD_LATENCY = BusinessMetric(
    "ForwardLatency",
    "Milliseconds",
    "functions/orders/instrumented.py TimedForwarder, around the forwarder of functions/write_api "
    "(and of order_intake after a failover): how long the primary's internal route took to "
    "answer a forwarded write, failures included",
)

ALL: tuple[BusinessMetric, ...] = (ORDERS_PLACED, ORDERS_CONFIRMED, ORDERS_FAILED, FORWARD_LATENCY)
