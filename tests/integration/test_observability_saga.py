"""The saga as the on-call sees it: its steps log with the client's correlation id, its
events carry it, and the business counters count each order once (OrdersPlaced,
OrdersConfirmed, OrdersFailed), whatever the retries and reruns. moto's Step Functions runs
the real handlers on real PostgreSQL (tests/integration/saga_harness.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions import business_metrics
from functions.saga import handler as saga_handler
from functions.write_api import handler as write_api
from tests.integration.saga_harness import World, body_of
from tests.support.lambda_context import lambda_context
from tests.support.telemetry import Emitted, captured_logs, emf_metrics, named

pytestmark = pytest.mark.postgres


def place(key: str, correlation_id: str, token: str = "tok_ok") -> dict[str, Any]:
    """POST /orders in the primary, as API Gateway delivers it, with a correlation id."""
    event = {
        "rawPath": "/orders",
        "headers": {"idempotency-key": key, "x-correlation-id": correlation_id},
        "requestContext": {"requestId": f"apigw-{key}"},
        "body": json.dumps(body_of("cust-1", token)),
    }
    answer = write_api.handler(event, lambda_context())
    assert answer["statusCode"] == 202, answer
    return dict(json.loads(answer["body"]))


def counters(emitted: list[Emitted]) -> dict[str, float]:
    """The business counters in the EMF output, summed by name."""
    totals: dict[str, float] = {}
    for metric in emitted:
        assert metric.namespace == business_metrics.NAMESPACE
        assert metric.dimensions == business_metrics.DIMENSIONS
        totals[metric.name] = totals.get(metric.name, 0) + metric.value
    return totals


def test_a_confirmed_order_is_counted_placed_and_confirmed_once_under_its_correlation_id(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a customer with a good card, whose client sends a correlation id
    capsys.readouterr()
    # When the order is placed and its saga runs
    with captured_logs(saga_handler.logger) as saga_logs:
        order_id = place("key-ok", "checkout-ok-1")["orderId"]
        world.wait(order_id)
    # Then it is counted placed once and confirmed once, and not failed
    assert counters(emf_metrics(capsys.readouterr().out)) == {
        "OrdersPlaced": 1,
        "OrdersConfirmed": 1,
    }
    # And every step logged under the client's correlation id
    steps = saga_logs.saying("saga action ran")
    assert [line["action"] for line in steps] == [
        "reserve_order",
        "authorize_payment",
        "capture_payment",
        "update_customer",
        "confirm_order",
    ]
    assert {line["correlation_id"] for line in steps} == {"checkout-ok-1"}
    # And every domain event the order caused carries it, for the projector and beyond
    details = [
        json.loads(detail)
        for (detail,) in world.db.connection().run(
            "SELECT detail FROM outbox WHERE order_id = :o ORDER BY seq", o=order_id
        )
    ]
    assert details and {d["correlationId"] for d in details} == {"checkout-ok-1"}

    # When the client retries the same order (another request, another correlation id)
    assert place("key-ok", "checkout-ok-2")["orderId"] == order_id
    world.wait(order_id)
    # Then nothing more is counted
    assert counters(emf_metrics(capsys.readouterr().out)) == {}


def test_a_declined_order_is_counted_failed_once_even_when_its_saga_runs_again(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a card the provider declines
    world.stand_in.faults["authorize"] = "business"
    capsys.readouterr()
    # When the order is placed and its saga ends
    order_id = place("key-declined", "checkout-declined")["orderId"]
    world.wait(order_id)
    # Then it is counted placed and failed, never confirmed
    assert counters(emf_metrics(capsys.readouterr().out)) == {"OrdersPlaced": 1, "OrdersFailed": 1}
    # When the saga runs again for it (after a failover)
    world.rerun(order_id)
    # Then it is not counted again
    emitted = emf_metrics(capsys.readouterr().out)
    assert named(emitted, "OrdersFailed") == [] and named(emitted, "OrdersPlaced") == []
