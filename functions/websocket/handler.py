"""Lambda handler of every WebSocket route, dispatching on the route key API Gateway matched.

A client connects, then sends ``{"action": "subscribe", "customerId": "..."}``; from then on
the notifier pushes ``{"type": "orderUpdated", "order": view}`` for that customer's orders.
One connection follows one customer; a second ``subscribe`` replaces the first.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import boto3

from functions.observability import API_GATEWAY, observed, service_logger, service_tracer
from functions.read_side.connections import ConnectionStore
from functions.read_side.errors import InvalidInput
from functions.read_side.views import valid_id
from functions.websocket.settings import WebSocketSettings


class Connections(Protocol):
    """The part of the connections table the routes use."""

    def connect(self, connection_id: str, connected_at: int, expires_at: int) -> None:
        """Record a new connection."""
        ...

    def subscribe(self, connection_id: str, customer_id: str, expires_at: int) -> None:
        """Point a connection at a customer."""
        ...

    def disconnect(self, connection_id: str) -> None:
        """Forget a connection."""
        ...


logger = service_logger("websocket")
tracer = service_tracer("websocket")


def _reply(status: int, body: Any | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"statusCode": status}
    if body is not None:
        response["body"] = json.dumps(body, separators=(",", ":"))
    return response


def _subscription_request(body: object) -> str:
    """The customer id of a ``subscribe`` message, or :class:`InvalidInput`."""
    if not isinstance(body, str | bytes) or len(body) > 4096:
        raise InvalidInput("the message must be a JSON object of at most 4 KiB", "body")
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        # RecursionError: arrays nested deeper than the parser's recursion limit.
        raise InvalidInput("the message is not JSON", "body") from None
    if not isinstance(message, dict):
        raise InvalidInput("the message must be a JSON object", "body")
    return valid_id(message.get("customerId"), "customerId")


class WebSocketRoutes:
    """``$connect``, ``$disconnect`` and ``subscribe`` over a connections store."""

    def __init__(
        self, connections: Connections, ttl_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._connections = connections
        self._ttl = ttl_seconds
        self._clock = clock

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The route's answer; for ``subscribe`` it is sent back to the client."""
        context = event.get("requestContext") or {}
        route = context.get("routeKey")
        connection_id = context.get("connectionId")
        if not isinstance(connection_id, str) or not connection_id:
            return _reply(400, InvalidInput("no connection id", "connectionId").body())
        now = int(self._clock())
        if route == "$connect":
            self._connections.connect(connection_id, now, now + self._ttl)
            return _reply(200)
        if route == "$disconnect":
            self._connections.disconnect(connection_id)
            return _reply(200)
        if route == "subscribe":
            try:
                customer_id = _subscription_request(event.get("body"))
            except InvalidInput as error:
                return _reply(400, error.body())
            self._connections.subscribe(connection_id, customer_id, now + self._ttl)
            return _reply(200, {"type": "subscribed", "customerId": customer_id})
        unknown = InvalidInput('unknown action; send {"action": "subscribe", ...}', "action")
        return _reply(400, unknown.body())


@functools.cache
def build_routes() -> WebSocketRoutes:
    """The container's routes, built once from the environment."""
    settings = WebSocketSettings.from_env(os.environ)
    client = boto3.client("dynamodb", region_name=settings.region)
    return WebSocketRoutes(
        ConnectionStore(client, settings.connections_table), settings.ttl_seconds
    )


@observed(logger, tracer, API_GATEWAY)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return build_routes().handle(event)
