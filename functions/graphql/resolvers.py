"""Every AppSync field this API resolves, as one Lambda data source dispatching on the field.

A single Lambda (rather than APPSYNC_JS resolvers) keeps one implementation of each rule:
the reads call the same :class:`OrderQueries` as the HTTP API and ``placeOrder`` calls the
same :func:`place_order` as ``POST /orders``, and every resolver runs in the tests.

A raised exception becomes an AppSync error whose ``errorType`` is the exception's class
name, so the classes below are what GraphQL clients see.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import AppSyncResolver

from functions.orders.write import WriteDeps, place_order
from functions.read_side.errors import NotFound, ReadError
from functions.read_side.queries import OrderQueries
from functions.read_side.views import api_view


class GraphQLError(Exception):
    """An error a GraphQL client can act on: ``CODE (field): message``."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        where = f" ({field})" if field else ""
        super().__init__(f"{code}{where}: {message}")
        self.code = code
        self.field = field


class BadRequest(GraphQLError):
    """The arguments were refused (the HTTP API would answer 400)."""


class Conflict(GraphQLError):
    """The idempotency key was used with another order (HTTP 409)."""


class ServiceUnavailable(GraphQLError):
    """Read-only mode or a dependency down (HTTP 503): retry later."""


class RequestFailed(GraphQLError):
    """Any other refusal, with the HTTP API's code."""


_BY_STATUS: dict[int, type[GraphQLError]] = {
    400: BadRequest,
    409: Conflict,
    503: ServiceUnavailable,
}


def _raise_for(status: int, error: dict[str, Any]) -> None:
    kind = _BY_STATUS.get(status, RequestFailed)
    raise kind(str(error.get("code", "ERROR")), str(error.get("message", "")), error.get("field"))


def build_resolver(
    queries: Callable[[], OrderQueries], write_deps: Callable[[], WriteDeps]
) -> AppSyncResolver:
    """The resolver app; dependencies are factories, so a read never builds the write side."""
    app = AppSyncResolver()

    def read(call: Callable[[OrderQueries], Any]) -> Any:
        try:
            return call(queries())
        except ReadError as error:
            _raise_for(error.status, error.body()["error"])

    @app.resolver(type_name="Query", field_name="getOrder")
    def get_order(orderId: Any = None) -> Any:
        try:
            return queries().get_order(orderId)
        except NotFound:
            return None  # GraphQL's way to say "no such order"
        except ReadError as error:
            _raise_for(error.status, error.body()["error"])

    @app.resolver(type_name="Query", field_name="listOrders")
    def list_orders(
        customerId: Any = None,
        limit: Any = None,
        nextToken: Any = None,
    ) -> Any:
        return read(lambda q: q.list_orders(customerId, limit, nextToken))

    @app.resolver(type_name="Mutation", field_name="placeOrder")
    def place(idempotencyKey: Any = None, input: Any = None) -> Any:
        headers = {"idempotency-key": idempotencyKey} if isinstance(idempotencyKey, str) else {}
        response = place_order(headers, json.dumps(input), write_deps())
        if response.status != 202:
            _raise_for(response.status, response.body.get("error", {}))
        return response.body

    @app.resolver(type_name="Mutation", field_name="publishOrderUpdate")
    def publish(order: Any = None) -> Any:
        # AppSync lets only IAM callers here; the resolver only checks the shape, so that a
        # subscriber never receives something that is not an order view.
        if not isinstance(order, dict):
            raise BadRequest("INVALID_INPUT", "order must be an object", "order")
        try:
            return api_view(order)
        except ReadError as error:
            raise BadRequest("INVALID_INPUT", error.message, "order") from error

    return app
