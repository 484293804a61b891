"""The read API's behaviour over an in-memory reader: views, pages, tokens, errors."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.read_api.handler import GET_ORDER, LIST_ORDERS, ReadApi
from functions.read_side.queries import OrderQueries
from functions.read_side.tokens import PageTokens
from tests.support.read_side import TOKEN_KEY, InMemoryOrderReader, a_view, http_event


@pytest.fixture
def reader() -> InMemoryOrderReader:
    return InMemoryOrderReader()


@pytest.fixture
def api(reader: InMemoryOrderReader) -> ReadApi:
    return ReadApi(OrderQueries(reader, PageTokens(TOKEN_KEY)))


def call(
    api: ReadApi,
    route: str,
    path: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, Any]:
    response = api.handle(http_event(route, path, query))
    return response["statusCode"], json.loads(response["body"])


def seed(reader: InMemoryOrderReader, customer: str, count: int) -> list[str]:
    """``count`` orders of one customer, created a minute apart; returns ids newest first."""
    ids = []
    for n in range(count):
        reader.add(a_view(f"{customer}-o{n:03d}", customer), f"2024-05-01T10:{n:02d}:00Z")
        ids.append(f"{customer}-o{n:03d}")
    return ids[::-1]


def test_an_order_is_returned_in_exactly_the_documented_shape(api, reader):
    # Given a stored view with Decimal numbers and an attribute the API does not document
    stored = a_view(
        "o-1",
        total=Decimal(2500),
        internalNote="x",
        items=[{"sku": "A", "quantity": Decimal(2), "unitPrice": Decimal(1250)}],
    )
    reader.add(stored, "2024-05-01T10:00:00Z")
    # When the client reads it
    status, body = call(api, GET_ORDER, {"orderId": "o-1"})
    # Then it gets exactly the documented fields, money as integers
    assert status == 200
    assert body == {
        "orderId": "o-1",
        "customerId": "c-1",
        "status": "CONFIRMED",
        "items": [{"sku": "A", "quantity": 2, "unitPrice": 1250}],
        "total": 2500,
        "currency": "EUR",
        "payment": {"status": "CAPTURED"},
        "updatedAt": "2024-05-01T10:00:00Z",
    }


def test_an_unknown_order_is_404_with_the_error_shape(api):
    # Given no orders
    # When a client asks for one
    status, body = call(api, GET_ORDER, {"orderId": "missing"})
    # Then it is told the order does not exist, in the error shape
    assert status == 404
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["error"]["field"] == "orderId"


@pytest.mark.parametrize("order_id", ["", "a#b", "CUSTOMER#c-1", "x" * 65, "ü", "-lead"])
def test_a_malformed_order_id_is_400_naming_the_field(api, order_id):
    # Given an id that could not be an order id
    # When a client asks for it
    status, body = call(api, GET_ORDER, {"orderId": order_id})
    # Then the answer is a 400 that names orderId
    assert status == 400
    assert body["error"] == {
        "code": "INVALID_INPUT",
        "message": body["error"]["message"],
        "field": "orderId",
    }


def test_a_customers_orders_come_newest_first(api, reader):
    # Given three orders of one customer
    newest_first = seed(reader, "c-1", 3)
    # When the client lists them
    status, body = call(api, LIST_ORDERS, {"customerId": "c-1"})
    # Then they come newest first, with no next page
    assert status == 200
    assert [o["orderId"] for o in body["items"]] == newest_first
    assert body["nextToken"] is None


def test_following_next_tokens_visits_every_order_once_and_ends(api, reader):
    # Given seven orders and a page size of three
    newest_first = seed(reader, "c-1", 7)
    seen: list[str] = []
    token = None
    pages = 0
    # When the client follows nextToken until there is none
    while True:
        query = {"limit": "3", **({"nextToken": token} if token else {})}
        status, body = call(api, LIST_ORDERS, {"customerId": "c-1"}, query)
        assert status == 200
        pages += 1
        seen += [o["orderId"] for o in body["items"]]
        token = body["nextToken"]
        if token is None:
            break
    # Then it has seen every order once, newest first, in three pages (no empty last page)
    assert seen == newest_first
    assert pages == 3


def test_a_token_issued_for_one_customer_is_refused_for_another(api, reader):
    # Given a next token from customer c-1's first page
    seed(reader, "c-1", 3)
    seed(reader, "c-2", 3)
    _, first = call(api, LIST_ORDERS, {"customerId": "c-1"}, {"limit": "1"})
    # When a client replays it against customer c-2
    status, body = call(
        api, LIST_ORDERS, {"customerId": "c-2"}, {"limit": "1", "nextToken": first["nextToken"]}
    )
    # Then it is refused as a bad token
    assert status == 400
    assert body["error"]["field"] == "nextToken"


def test_a_token_whose_position_was_edited_is_refused(api, reader):
    # Given a genuine token whose position part a client rewrote to point elsewhere
    seed(reader, "c-1", 3)
    _, first = call(api, LIST_ORDERS, {"customerId": "c-1"}, {"limit": "1"})
    forged = PageTokens(b"another-key-of-the-attacker-000").issue("c-1", "ORDER#9999")
    edited = forged.split(".")[0] + "." + first["nextToken"].split(".")[1]
    # When the client sends it
    status, body = call(api, LIST_ORDERS, {"customerId": "c-1"}, {"nextToken": edited})
    # Then it is refused as a bad token
    assert status == 400
    assert body["error"]["field"] == "nextToken"


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", " 3", "\u0661"])
def test_a_limit_outside_one_to_a_hundred_is_400(api, reader, limit):
    # Given a customer with orders
    seed(reader, "c-1", 2)
    # When the client asks for a page size the API does not offer
    status, body = call(api, LIST_ORDERS, {"customerId": "c-1"}, {"limit": limit})
    # Then it is a 400 naming limit
    assert status == 400
    assert body["error"]["field"] == "limit"


def test_an_unknown_route_is_404_with_the_error_shape(api):
    # Given an event for a route this function does not serve
    # When it arrives
    status, body = call(api, "GET /elsewhere")
    # Then it is a 404 in the error shape
    assert status == 404
    assert body["error"]["code"] == "NOT_FOUND"


def test_a_corrupt_stored_view_is_a_500_in_the_error_shape_not_a_crash(api, reader):
    # Given a stored view that lost its total (a projector bug, not client input)
    broken = a_view("o-1")
    del broken["total"]
    reader.add(broken, "2024-05-01T10:00:00Z")
    # When a client reads it
    status, body = call(api, GET_ORDER, {"orderId": "o-1"})
    # Then the answer is still the documented error shape
    assert status == 500
    assert body["error"]["code"] == "INTERNAL"


texts = st.text(max_size=80)
maybe = st.one_of(st.none(), texts)


@settings(max_examples=200, deadline=None)
@given(
    route=st.sampled_from([GET_ORDER, LIST_ORDERS]),
    order_id=maybe,
    customer_id=maybe,
    limit=maybe,
    token=maybe,
)
def test_no_path_or_query_parameter_produces_a_500(route, order_id, customer_id, limit, token):
    # Given any parameters at all, over a reader holding a few orders
    reader = InMemoryOrderReader()
    seed(reader, "c-1", 3)
    api = ReadApi(OrderQueries(reader, PageTokens(TOKEN_KEY)))
    path = {
        k: v for k, v in {"orderId": order_id, "customerId": customer_id}.items() if v is not None
    }
    query = {k: v for k, v in {"limit": limit, "nextToken": token}.items() if v is not None}
    # When the request is handled
    response = api.handle(http_event(route, path, query))
    # Then the answer is a success or a client error, always in JSON
    assert response["statusCode"] in (200, 400, 404)
    json.loads(response["body"])
