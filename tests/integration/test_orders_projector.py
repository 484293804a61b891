"""The projector against real PostgreSQL and moto's DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions import synthetic
from functions.orders import read_model
from functions.orders.db import Database, DatabaseSettings
from functions.orders.domain import OrderStatus
from functions.orders.migrations import migrate
from functions.orders.store import PostgresOrderStore, load_snapshot
from functions.projector import handler as projector
from tests.integration.orders_harness import (
    PRIMARY,
    TABLE,
    create_global_table,
    customer_items,
)
from tests.support.lambda_context import lambda_context

pytestmark = pytest.mark.postgres
REQUEST = {
    "customerId": "c-9",
    "currency": "EUR",
    "items": [{"sku": "A", "quantity": 1, "unitPrice": 700}],
    "payment": {"token": "t"},
}


@pytest.fixture
def store(
    moto_aws: None,
    postgres_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[PostgresOrderStore]:
    db = Database(DatabaseSettings.from_env({"DATABASE_URL": postgres_dsn}))
    migrate(db)
    create_global_table(PRIMARY)
    for name, value in {
        "AWS_REGION": PRIMARY,
        "TABLE_NAME": TABLE,
        "DATABASE_URL": postgres_dsn,
    }.items():
        monkeypatch.setenv(name, value)
    projector.database.cache_clear()
    projector.writer.cache_clear()
    yield PostgresOrderStore(db)
    projector.database().close()
    projector.database.cache_clear()
    projector.writer.cache_clear()
    db.close()


def view_of(order_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb", region_name=PRIMARY).get_item(
        TableName=TABLE, Key={k: {"S": v} for k, v in read_model.order_key(order_id).items()}
    )
    return item["Item"]


def sqs_event(order_id: str) -> dict[str, Any]:
    body = {"detail-type": "OrderConfirmed", "detail": {"orderId": order_id}}
    return {"Records": [{"messageId": "m1", "body": json.dumps(body)}]}


def test_an_event_projects_the_view_in_the_api_shape(store: PostgresOrderStore) -> None:
    # Given a reserved order
    store.reserve("o-1", "f", REQUEST, 700)
    # When its event reaches the projector through SQS
    result = projector.handler(sqs_event("o-1"), lambda_context())
    # Then the view holds exactly the API's fields, at the row's version
    item = view_of("o-1")
    assert result == {"batchItemFailures": []}
    assert set(item["view"]["M"]) == {
        "orderId",
        "customerId",
        "status",
        "items",
        "total",
        "currency",
        "payment",
        "updatedAt",
    }
    assert item["version"]["N"] == "1"
    # And beside the view, never in it, the fingerprint of the request the order was placed
    # with, which every region's write API compares a reused key's body with
    assert item[read_model.FINGERPRINT_ATTRIBUTE] == {"S": "f"}


def test_an_older_event_arriving_late_does_not_regress_the_view(store: PostgresOrderStore) -> None:
    # Given a projector that read the order while it was PENDING (version 1) ...
    store.reserve("o-2", "f", REQUEST, 700)
    stale = load_snapshot(projector.database(), "o-2")
    assert stale is not None
    # ... while the order moved on and a later event projected AUTHORIZED
    store.advance(
        "o-2",
        "AuthorizePayment",
        OrderStatus.AUTHORIZED,
        "AUTHORIZED",
        "PaymentAuthorized",
        authorization_id="a",
    )
    projector.handler(sqs_event("o-2"), lambda_context())
    # When the slow projector finally writes its older snapshot
    wrote = projector.project(stale, projector.writer())
    # Then the write is refused and the view still shows the newer state
    item = view_of("o-2")
    assert wrote is False
    assert item["view"]["M"]["status"]["S"] == "AUTHORIZED"
    assert item["version"]["N"] == "2"


def test_a_failing_record_is_reported_alone(store: PostgresOrderStore) -> None:
    # Given a batch with a good record and a malformed one
    store.reserve("o-3", "f", REQUEST, 700)
    event = sqs_event("o-3")
    event["Records"].append({"messageId": "bad", "body": "not json"})
    # When projected
    result = projector.handler(event, lambda_context())
    # Then only the malformed one is retried, and the good one was projected
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert view_of("o-3")["view"]["M"]["orderId"]["S"] == "o-3"


def test_the_view_item_keeps_the_correlation_id_of_the_event_it_was_projected_from(
    store: PostgresOrderStore,
) -> None:
    # Given a reserved order, and its event carrying the client's correlation id
    store.reserve("o-1", "f", REQUEST, 700)
    event = sqs_event("o-1")
    body = json.loads(event["Records"][0]["body"])
    body["detail"]["correlationId"] = "checkout-42"
    event["Records"][0]["body"] = json.dumps(body)
    # When the projector projects it
    assert projector.handler(event, lambda_context()) == {"batchItemFailures": []}
    # Then the id is kept beside the view (for the notifier), never in it
    item = view_of("o-1")
    assert item[read_model.CORRELATION_ATTRIBUTE] == {"S": "checkout-42"}
    assert "correlationId" not in item["view"]["M"]


def test_a_synthetic_orders_items_expire_a_week_after_it_was_placed(
    store: PostgresOrderStore,
) -> None:
    # Given the write canary's order, and a customer's
    store.reserve("o-syn", "f", {**REQUEST, "customerId": synthetic.CUSTOMER_ID}, 700)
    store.reserve("o-real", "g", REQUEST, 700)
    # When both are projected
    for order_id in ("o-syn", "o-real"):
        assert projector.handler(sqs_event(order_id), lambda_context()) == {"batchItemFailures": []}
    # Then the synthetic order's items carry the table's TTL, a week after it was placed
    [[placed]] = (
        projector.database()
        .connection()
        .run(
            "SELECT floor(extract(epoch FROM created_at))::bigint FROM orders WHERE order_id = 'o-syn'"
        )
    )
    expected = {"N": str(placed + synthetic.RETENTION_SECONDS)}
    assert view_of("o-syn")[read_model.TTL_ATTRIBUTE] == expected
    listed = customer_items(synthetic.CUSTOMER_ID)
    assert [item[read_model.TTL_ATTRIBUTE] for item in listed] == [expected]
    # And a customer's order never expires
    assert read_model.TTL_ATTRIBUTE not in view_of("o-real")
    assert all(
        read_model.TTL_ATTRIBUTE not in item for item in customer_items(REQUEST["customerId"])
    )
