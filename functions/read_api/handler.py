"""Lambda handler of the HTTP read routes (API Gateway HTTP API, payload format 2.0).

API Gateway has already matched the route, so the handler dispatches on ``routeKey`` and
reads the decoded ``pathParameters`` instead of matching the raw path a second time.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import boto3

from functions import api_error
from functions.observability import API_GATEWAY, observed, service_logger, service_tracer
from functions.read_api.settings import ReadApiSettings
from functions.read_side.dynamo import DynamoOrderReader, SecretKeySource
from functions.read_side.errors import NotFound, ReadError
from functions.read_side.queries import OrderQueries
from functions.read_side.tokens import PageTokens

logger = service_logger("read-api")
tracer = service_tracer("read-api")

GET_ORDER = "GET /orders/{orderId}"
LIST_ORDERS = "GET /customers/{customerId}/orders"
_HEADERS = {"content-type": "application/json", "cache-control": "no-store"}


def _response(status: int, body: Any, extra: Mapping[str, str] | None = None) -> dict[str, Any]:
    headers = {**_HEADERS, **(extra or {})}
    return {
        "statusCode": status,
        "headers": headers,
        "body": json.dumps(body, separators=(",", ":")),
    }


class ReadApi:
    """Maps HTTP API events to :class:`OrderQueries` calls and results to HTTP responses."""

    def __init__(self, queries: OrderQueries | Callable[[], OrderQueries]) -> None:
        # A factory is called inside the error mapping of every request: a cold start that
        # cannot load its dependencies then answers 503 in the error shape, not a crash.
        self._queries = (lambda: queries) if isinstance(queries, OrderQueries) else queries
        self._routes: dict[
            str, Callable[[OrderQueries, Mapping[str, Any], Mapping[str, Any]], Any]
        ] = {
            GET_ORDER: lambda queries, path, _query: queries.get_order(path.get("orderId")),
            LIST_ORDERS: lambda queries, path, query: queries.list_orders(
                path.get("customerId"), query.get("limit"), query.get("nextToken")
            ),
        }

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The HTTP response to one request; every failure is an error body, never a crash."""
        try:
            route = self._routes.get(str(event.get("routeKey")))
            if route is None:
                raise NotFound("no such route")
            path = event.get("pathParameters") or {}
            query = event.get("queryStringParameters") or {}
            return _response(200, route(self._queries(), path, query))
        except ReadError as error:
            if error.status >= 500:
                logger.exception("read failed", extra={"code": error.code})
            extra = {"retry-after": "1"} if error.status == 503 else None
            return _response(error.status, error.body(), extra)
        except Exception:
            # The last line of defence: a bug must still answer in the documented shape.
            logger.exception("unexpected error")
            return _response(500, api_error.internal())


@functools.cache
def build_queries() -> OrderQueries:
    """The container's OrderQueries over its own region's table (also used by AppSync).

    Cached only once built: a cold start that could not read the page-token key raises
    :class:`Unavailable`, and the next request tries again.
    """
    settings = ReadApiSettings.from_env(os.environ)
    dynamodb = boto3.client("dynamodb", region_name=settings.region)
    secrets = boto3.client("secretsmanager", region_name=settings.region)
    key = SecretKeySource(secrets, settings.page_token_secret_id).load()
    return OrderQueries(DynamoOrderReader(dynamodb, settings.table_name), PageTokens(key))


@functools.cache
def build_api() -> ReadApi:
    """The container's ReadApi; its queries are built on the first request that needs them."""
    return ReadApi(build_queries)


@observed(logger, tracer, API_GATEWAY)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return build_api().handle(event)
