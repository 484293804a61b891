"""The read handler end to end against moto: the local table, the token secret, the env."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from functions.read_api import handler as read_handler
from functions.read_api.handler import GET_ORDER, LIST_ORDERS
from tests.support.lambda_context import lambda_context
from tests.support.read_side import (
    a_view,
    create_order_table,
    http_event,
    put_order,
    use_page_token_secret,
)

REGION = "eu-west-1"
TABLE = "orders-eu-west-1"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto table and token secret in this region, and the read handler's environment."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "TABLE_NAME": TABLE,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        create_order_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        use_page_token_secret(monkeypatch, REGION)
        read_handler.build_api.cache_clear()
        read_handler.build_queries.cache_clear()
        yield boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
        read_handler.build_api.cache_clear()
        read_handler.build_queries.cache_clear()


def call(route: str, path: dict[str, str], query: dict[str, str] | None = None) -> tuple[int, Any]:
    response = read_handler.handler(http_event(route, path, query), lambda_context())
    return response["statusCode"], json.loads(response["body"])


def test_a_projected_order_reads_back_as_the_api_view_with_integer_money(table):
    # Given an order the projector wrote into the local table
    put_order(table, a_view("o-1", "c-1"), "2024-05-01T10:00:00Z")
    # When a client gets it
    status, body = call(GET_ORDER, {"orderId": "o-1"})
    # Then it is the view as written, with integers (not Decimal strings or floats)
    assert status == 200
    assert body == a_view("o-1", "c-1")
    assert isinstance(body["total"], int)


def test_an_order_missing_from_the_table_is_404(table):
    # Given an empty table
    # When a client asks for an order
    status, body = call(GET_ORDER, {"orderId": "o-404"})
    # Then it is a 404
    assert status == 404
    assert body["error"]["code"] == "NOT_FOUND"


def test_pages_from_the_table_are_newest_first_and_cover_every_order(table):
    # Given five orders of one customer and two of another
    for n in range(5):
        put_order(table, a_view(f"o{n}", "c-1"), f"2024-05-0{n + 1}T10:00:00Z")
    for n in range(2):
        put_order(table, a_view(f"x{n}", "c-2"), f"2024-05-0{n + 1}T11:00:00Z")
    seen: list[str] = []
    token = None
    # When c-1 pages through with limit 2
    while True:
        query = {"limit": "2", **({"nextToken": token} if token else {})}
        status, body = call(LIST_ORDERS, {"customerId": "c-1"}, query)
        assert status == 200
        seen += [o["orderId"] for o in body["items"]]
        token = body["nextToken"]
        if not token:
            break
    # Then it sees exactly its own orders, newest first
    assert seen == ["o4", "o3", "o2", "o1", "o0"]


def test_a_token_cannot_be_replayed_against_another_customer(table):
    # Given a token from c-1's first page
    for n in range(3):
        put_order(table, a_view(f"o{n}", "c-1"), f"2024-05-0{n + 1}T10:00:00Z")
        put_order(table, a_view(f"x{n}", "c-2"), f"2024-05-0{n + 1}T10:00:00Z")
    _, first = call(LIST_ORDERS, {"customerId": "c-1"}, {"limit": "1"})
    # When it is used for c-2
    status, body = call(LIST_ORDERS, {"customerId": "c-2"}, {"nextToken": first["nextToken"]})
    # Then it is a 400 on nextToken, and nothing of c-2 leaks
    assert status == 400
    assert body["error"]["field"] == "nextToken"


def test_an_unreadable_table_is_503_with_retry_after(table, monkeypatch):
    # Given the handler pointed at a table that does not exist in this region
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    read_handler.build_api.cache_clear()
    read_handler.build_queries.cache_clear()
    # When a client reads
    response = read_handler.handler(http_event(GET_ORDER, {"orderId": "o-1"}), lambda_context())
    # Then it is told to retry, in the error shape
    assert response["statusCode"] == 503
    assert response["headers"]["retry-after"]
    assert json.loads(response["body"])["error"]["code"] == "UNAVAILABLE"


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from([GET_ORDER, LIST_ORDERS]),
    path=st.dictionaries(st.sampled_from(["orderId", "customerId"]), st.text(max_size=70)),
    query=st.dictionaries(st.sampled_from(["limit", "nextToken", "other"]), st.text(max_size=70)),
)
def test_no_path_or_query_parameter_produces_a_500_against_the_table(table, route, path, query):
    # Given any path and query parameters
    # When the handler serves them from the moto table
    response = read_handler.handler(http_event(route, path, query), lambda_context())
    # Then the answer is a success or a client error
    assert response["statusCode"] in (200, 400, 404)


def test_a_cold_start_that_cannot_read_the_token_key_is_503_and_recovers(table, monkeypatch):
    # Given a cold container whose page-token secret Secrets Manager refuses to read
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.delete_secret(SecretId="page-token-key", RecoveryWindowInDays=7)
    read_handler.build_api.cache_clear()
    read_handler.build_queries.cache_clear()
    put_order(table, a_view("o-1", "c-1"), "2024-05-01T10:00:00Z")
    # When a client reads
    refused = read_handler.handler(http_event(GET_ORDER, {"orderId": "o-1"}), lambda_context())
    # Then it is the documented 503 with Retry-After, not API Gateway's bare 500
    assert refused["statusCode"] == 503
    assert refused["headers"]["retry-after"]
    assert json.loads(refused["body"])["error"]["code"] == "UNAVAILABLE"
    # And once the secret can be read again, the same container answers (no cached failure)
    secrets.restore_secret(SecretId="page-token-key")
    status, body = call(GET_ORDER, {"orderId": "o-1"})
    assert (status, body["orderId"]) == (200, "o-1")
