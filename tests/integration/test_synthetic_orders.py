"""The write canary's orders: the saga completes them charging no one, telling no CRM, counting
nothing; only the IAM-authorized routes can make an order synthetic. moto's Step Functions runs
the real handlers on real PostgreSQL (tests/integration/saga_harness.py); the payment provider
and the CRM are the stand-in, which records every request it gets."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions import synthetic
from functions.orders.store import PostgresOrderStore
from functions.write_api import handler as write_api
from tests.integration.saga_harness import PRIMARY, World, body_of, view
from tests.support.lambda_context import lambda_context
from tests.support.telemetry import emf_metrics

pytestmark = pytest.mark.postgres


def post(
    route_key: str, path: str, key: str, customer: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A POST as API Gateway delivers it on ``route_key``."""
    event = {
        "routeKey": route_key,
        "rawPath": path,
        "headers": {"idempotency-key": key, **(headers or {})},
        "body": json.dumps(body_of(customer, "tok_ok")),
    }
    return dict(write_api.handler(event, lambda_context()))


def accepted(answer: dict[str, Any]) -> str:
    assert answer["statusCode"] == 202, answer
    return str(json.loads(answer["body"])["orderId"])


def test_a_synthetic_order_is_confirmed_with_no_provider_no_crm_and_no_business_count(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the write canary's POST on its IAM-authorized route
    capsys.readouterr()
    order_id = accepted(
        post(synthetic.ROUTE, synthetic.PATH, "canary-run-1", synthetic.CUSTOMER_ID)
    )
    # When its saga runs to the end
    assert world.wait(order_id)["status"] == "SUCCEEDED"
    world.project()
    # Then the order is confirmed and readable, as a real one would be
    assert world.order(order_id)[0] == "CONFIRMED"
    assert (view(order_id) or {}).get("status") == "CONFIRMED"
    # And neither the payment provider nor the CRM heard of it
    assert world.stand_in_requests() == []
    # And no business counter counted it
    assert [m.name for m in emf_metrics(capsys.readouterr().out)] == []


def test_a_real_order_next_to_it_is_still_charged_and_counted(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a synthetic order, then a customer's
    capsys.readouterr()
    world.wait(
        accepted(post(synthetic.ROUTE, synthetic.PATH, "canary-run-2", synthetic.CUSTOMER_ID))
    )
    real = accepted(post("POST /orders", "/orders", "customer-key", "cust-1"))
    world.wait(real)
    # Then only the customer's order went to the provider, and only it was counted
    assert world.order(real)[0] == "CONFIRMED"
    paths = {path for path, _ in world.money_calls()}
    assert paths and all(real in key for _, key in world.money_calls()), paths
    counted = [m.name for m in emf_metrics(capsys.readouterr().out)]
    assert sorted(counted) == ["OrdersConfirmed", "OrdersPlaced"]


@pytest.mark.parametrize(
    ("route_key", "path", "headers"),
    [
        # The public route, even with the header a secondary adds when it forwards
        ("POST /orders", "/orders", {synthetic.HEADER: "true"}),
        # ... and behind a base path that ends like the internal route's
        ("POST /orders", "/v1/internal/orders", {synthetic.HEADER: "true"}),
        ("POST /orders", "/orders", {}),
    ],
)
def test_the_public_route_cannot_make_an_order_synthetic(
    world: World, route_key: str, path: str, headers: dict[str, str]
) -> None:
    # Given a public request that names the canary's customer
    answer = post(route_key, path, "public-key", synthetic.CUSTOMER_ID, headers)
    # Then it is refused, naming the field, and no saga started
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"]["field"] == "customerId"
    sfn = boto3.client("stepfunctions", region_name=PRIMARY)
    assert sfn.list_executions(stateMachineArn=world.state_machine_arn)["executions"] == []


def test_a_synthetic_order_for_a_real_customer_is_refused(world: World) -> None:
    answer = post(synthetic.ROUTE, synthetic.PATH, "canary-wrong", "cust-1")
    assert answer["statusCode"] == 400
    assert "synthetic" in json.loads(answer["body"])["error"]["message"]


def test_a_synthetic_order_forwarded_to_the_internal_route_stays_synthetic(
    world: World,
) -> None:
    # Given what a secondary sends the primary's IAM-authorized internal route for the canary
    order_id = accepted(
        post(
            "POST /internal/orders",
            "/internal/orders",
            "canary-forwarded",
            synthetic.CUSTOMER_ID,
            {synthetic.HEADER: "true"},
        )
    )
    # Then its saga charges no one either
    assert world.wait(order_id)["status"] == "SUCCEEDED"
    assert world.order(order_id)[0] == "CONFIRMED"
    assert world.stand_in_requests() == []


@pytest.mark.parametrize("failing", ["confirm_order", "capture_payment", "update_customer"])
def test_a_synthetic_order_that_fails_is_compensated_and_holds_no_money(
    world: World, failing: str
) -> None:
    # Given a synthetic order whose saga fails at a late step (a database failing over)
    world.fault(failing, "business")
    # When its saga runs to the end
    order_id = accepted(
        post(synthetic.ROUTE, synthetic.PATH, f"canary-{failing}", synthetic.CUSTOMER_ID)
    )
    assert world.wait(order_id)["status"] in ("FAILED", "SUCCEEDED")
    # Then the order ended FAILED, its made-up payment settled as its compensations left it,
    # and the drainer finds no FAILED order holding money (no false page)
    status, _, payment = world.order(order_id)
    assert status == "FAILED"
    assert payment in ("VOIDED", "REFUNDED", "PENDING")
    assert PostgresOrderStore(world.db).failed_holding_money(0) == []
    # And still no provider or CRM heard of it
    assert world.stand_in_requests() == []
