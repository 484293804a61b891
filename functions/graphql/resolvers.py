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

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import AppSyncResolver

from functions import correlation
from functions.orders.ports import WritePathMisconfigured
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


logger = Logger(service="graphql")

# Every field the Lambda data source resolves, with the arguments the schema declares for it
# (a test compares this with functions/graphql/schema.graphql). AppSync only sends these; any
# other event is refused as a BadRequest before a resolver runs.
RESOLVED_FIELDS: dict[tuple[str, str], frozenset[str]] = {
    ("Query", "getOrder"): frozenset({"orderId"}),
    ("Query", "listOrders"): frozenset({"customerId", "limit", "nextToken"}),
    ("Mutation", "placeOrder"): frozenset({"idempotencyKey", "input"}),
    ("Mutation", "publishOrderUpdate"): frozenset({"order", "correlationId"}),
}

_BY_STATUS: dict[int, type[GraphQLError]] = {
    400: BadRequest,
    409: Conflict,
    503: ServiceUnavailable,
}


def _raise_for(status: int, error: dict[str, Any]) -> None:
    kind = _BY_STATUS.get(status, RequestFailed)
    raise kind(str(error.get("code", "ERROR")), str(error.get("message", "")), error.get("field"))


class GraphQLApp:
    """The resolver app behind a check of the event: every failure is a documented errorType."""

    def __init__(self, app: AppSyncResolver) -> None:
        self._app = app

    def resolve(self, event: Any, context: Any) -> Any:
        """Resolve one direct-resolver event; BadRequest for an event this schema never sends."""
        try:
            return self._app.resolve(_checked(event), context)
        except GraphQLError:
            raise
        except Exception as exc:
            # The last line of defence: a bug still answers with a documented errorType.
            logger.exception("unexpected error")
            raise RequestFailed("INTERNAL", "internal error") from exc


def _checked(event: Any) -> dict[str, Any]:
    """``event`` if it is one field's direct-resolver event with only declared arguments."""
    info = event.get("info") if isinstance(event, dict) else None
    if not isinstance(info, dict):
        raise BadRequest("INVALID_EVENT", "not an AppSync direct Lambda resolver event", "info")
    field = (info.get("parentTypeName"), info.get("fieldName"))
    if field not in RESOLVED_FIELDS:
        raise BadRequest("INVALID_EVENT", f"no resolver for {field[0]}.{field[1]}", "info")
    arguments = event.get("arguments")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise BadRequest("INVALID_INPUT", "arguments must be an object", "arguments")
    for name in sorted(arguments.keys() - RESOLVED_FIELDS[field]):
        raise BadRequest("INVALID_INPUT", f"{field[1]} has no argument {name!r}", str(name))
    return {**event, "arguments": arguments}


def build_resolver(
    queries: Callable[[], OrderQueries], write_deps: Callable[[], WriteDeps]
) -> GraphQLApp:
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
        if idempotencyKey is not None and not isinstance(idempotencyKey, str):
            raise BadRequest(
                "INVALID_IDEMPOTENCY_KEY", "idempotencyKey must be a string", "idempotencyKey"
            )
        headers = {"idempotency-key": idempotencyKey} if idempotencyKey is not None else {}
        # No input is no body: the write path's own MISSING_BODY, not the text "null".
        body = None if input is None else json.dumps(input)
        try:
            response = place_order(headers, body, write_deps())
        except WritePathMisconfigured:
            # As POST /orders answers 500 MISCONFIGURED: logged, and no retry will help.
            logger.exception("the write path is misconfigured: fix the deployment")
            raise RequestFailed(
                "MISCONFIGURED", "the write path is misconfigured; the write was not accepted"
            ) from None
        if response.status != 202:
            _raise_for(response.status, response.body.get("error", {}))
        return response.body

    @app.resolver(type_name="Mutation", field_name="publishOrderUpdate")
    def publish(order: Any = None, correlationId: Any = None) -> Any:
        # AppSync lets only IAM callers here; the resolver only checks the shape, so that a
        # subscriber never receives something that is not an order view.
        if not isinstance(order, dict):
            raise BadRequest("INVALID_INPUT", "order must be an object", "order")
        try:
            view = api_view(order)
        except ReadError as error:
            raise BadRequest("INVALID_INPUT", error.message, "order") from error
        return {**view, correlation.FIELD: correlation.clean(correlationId)}

    return GraphQLApp(app)
