"""The AppSync Lambda entry point against moto: reads resolve from the local table."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from functions.graphql import handler as graphql_handler
from functions.read_api import handler as read_handler
from tests.support.appsync_emulator import executable_schema, run
from tests.support.lambda_context import lambda_context
from tests.support.read_side import a_view, create_order_table, put_order, use_page_token_secret

REGION = "sa-east-1"
TABLE = "orders-sa"


@pytest.fixture
def region(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A moto table with two orders of c-1, and the GraphQL function's read environment."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "TABLE_NAME": TABLE,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        create_order_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
        put_order(table, a_view("o-1", "c-1"), "2024-05-01T10:00:00Z")
        put_order(table, a_view("o-2", "c-1"), "2024-05-02T10:00:00Z")
        use_page_token_secret(monkeypatch, REGION, "s" * 32)
        for cached in (graphql_handler.build_app, read_handler.build_queries):
            cached.cache_clear()
        yield
        for cached in (graphql_handler.build_app, read_handler.build_queries):
            cached.cache_clear()


def test_get_order_through_the_lambda_entry_point_reads_the_local_table(region):
    # Given the executable schema wired to the deployed handler
    schema = executable_schema(lambda event: graphql_handler.handler(event, lambda_context()))
    # When a client queries an order
    result = run(schema, 'query { getOrder(orderId: "o-1") { orderId total items { unitPrice } } }')
    # Then the view comes from the table with integer money
    assert result.errors is None
    assert result.data == {
        "getOrder": {"orderId": "o-1", "total": 2500, "items": [{"unitPrice": 1250}]}
    }


def test_list_orders_through_the_lambda_entry_point_is_newest_first(region):
    # Given the executable schema wired to the deployed handler
    schema = executable_schema(lambda event: graphql_handler.handler(event, lambda_context()))
    # When a client lists c-1's orders one at a time
    first = run(
        schema, 'query { listOrders(customerId: "c-1", limit: 1) { items { orderId } nextToken } }'
    )
    token = first.data["listOrders"]["nextToken"]
    second = run(
        schema,
        'query($t: String) { listOrders(customerId: "c-1", limit: 1, '
        "nextToken: $t) { items { orderId } nextToken } }",
        t=token,
    )
    # Then it gets the newest first, then the older one, then no more pages
    assert [
        first.data["listOrders"]["items"][0]["orderId"],
        second.data["listOrders"]["items"][0]["orderId"],
    ] == ["o-2", "o-1"]
    assert second.data["listOrders"]["nextToken"] is None


@pytest.mark.parametrize(
    "document",
    [
        'query { getOrder(orderId: "o-1") { orderId } }',
        'query { listOrders(customerId: "c-1") { items { orderId } } }',
    ],
)
def test_a_cold_start_that_cannot_read_the_token_key_is_service_unavailable(region, document):
    # Given a cold container whose page-token secret Secrets Manager refuses to read
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId="page-token-key", RecoveryWindowInDays=7
    )
    schema = executable_schema(lambda event: graphql_handler.handler(event, lambda_context()))
    # When a client reads
    result = run(schema, document)
    # Then the error is the documented ServiceUnavailable (UNAVAILABLE), so the client retries
    assert result.errors is not None
    error = result.errors[0]
    assert type(error.original_error).__name__ == "ServiceUnavailable"
    assert error.message.startswith("UNAVAILABLE")
