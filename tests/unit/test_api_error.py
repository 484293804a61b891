"""The API's one error body: every route answers a refusal in the shape the docs promise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions import api_error
from functions.orders.write import error
from functions.read_api.handler import GET_ORDER, ReadApi
from functions.read_side.errors import InvalidInput, NotFound, Unavailable
from functions.websocket.handler import WebSocketRoutes

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = '{"error": {"code", "message", "field"}}'


def shape(body: dict[str, Any]) -> tuple[list[str], list[str]]:
    return sorted(body), sorted(body["error"])


def test_the_documented_shape_is_the_one_built() -> None:
    # Given what README.md and the API docs say an error looks like
    for doc in ("README.md", "docs/read-side.md", "docs/write-path.md"):
        assert DOCUMENTED in (ROOT / doc).read_text(), doc
    # When an error body is built / Then it has exactly those keys
    built = api_error.body("NOT_FOUND", "no order with that id")
    assert shape(built) == (["error"], ["code", "field", "message"])
    assert built["error"]["field"] is None


def test_a_bug_answers_the_shape_and_says_nothing_of_the_failure() -> None:
    # Given the read API whose queries cannot even be built (a bug)
    def broken() -> Any:
        raise KeyError("secret detail")

    # When a client asks for an order
    answer = ReadApi(broken).handle({"routeKey": GET_ORDER, "pathParameters": {"orderId": "o"}})
    # Then 500 in the documented shape, with nothing of the exception in it
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 500
    assert body == {"error": {"code": "INTERNAL", "message": "internal error", "field": None}}


@pytest.mark.parametrize(
    "answer",
    [
        error(400, "INVALID_JSON", "the body is not JSON", "body").body,
        NotFound("no order with that id").body(),
        Unavailable("the table cannot be read").body(),
        json.loads(
            WebSocketRoutes(connections=None, ttl_seconds=60).handle(  # type: ignore[arg-type]
                {"requestContext": {"routeKey": "shout", "connectionId": "c-1"}}
            )["body"]
        ),
    ],
    ids=["write", "read-404", "read-503", "websocket"],
)
def test_every_route_refuses_in_the_one_shape(answer: dict[str, Any]) -> None:
    assert shape(answer) == (["error"], ["code", "field", "message"])
    assert isinstance(answer["error"]["code"], str) and answer["error"]["code"].isupper()


def test_a_field_names_the_input_at_fault() -> None:
    body = InvalidInput("limit must be 1 to 100", "limit").body()
    assert body["error"]["field"] == "limit"


def test_an_upstream_error_body_is_passed_on_without_its_extra_keys() -> None:
    # Given a primary's refusal that carries more than the documented keys
    upstream = {
        "error": {"code": "INVALID_JSON", "message": "bad", "field": None, "trace": "x"},
        "debug": "internal",
    }
    # When it is read as an error body / Then only the documented shape remains
    assert api_error.parse(upstream) == api_error.body("INVALID_JSON", "bad")


@pytest.mark.parametrize(
    "upstream",
    [
        {},
        {"error": "nope"},
        {"error": {"code": 400, "message": "bad"}},
        {"error": {"code": "X", "message": None}},
        {"error": {"code": "X", "message": "bad", "field": ["items"]}},
    ],
)
def test_anything_else_is_not_an_error_body(upstream: dict[str, Any]) -> None:
    assert api_error.parse(upstream) is None
