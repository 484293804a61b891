"""The notifier's AWS adapters: the WebSocket management API and the AppSync endpoint."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from botocore.exceptions import ClientError

from functions.orders.read_model import IDEMPOTENCY_PARTITION_KEY, IDEMPOTENCY_TTL_ATTRIBUTE
from functions.outbound import SigV4, Transport, Unreachable

# A stream record is retried for as long as the stream keeps it (24 hours): remember a
# delivery at least that long, so no retry of the record can send it again.
DELIVERY_MEMORY_SECONDS = 24 * 60 * 60

PUBLISH_ORDER_UPDATE = """
mutation PublishOrderUpdate($order: OrderUpdateInput!, $correlationId: String) {
  publishOrderUpdate(order: $order, correlationId: $correlationId) {
    orderId customerId status items { sku quantity unitPrice } total currency
    payment { status } updatedAt correlationId
  }
}
""".strip()


class WebSocketPusher:
    """Posts to connections through the API Gateway management API of this region's stage."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def push(self, connection_id: str, data: bytes) -> bool:
        """True if delivered, False if the connection is gone; other errors propagate."""
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "GoneException":
                return False
            raise
        return True


class PublishFailed(RuntimeError):
    """AppSync did not accept the ``publishOrderUpdate`` mutation."""


class AppSyncPublisher:
    """Calls the local AppSync API's IAM-only ``publishOrderUpdate`` with a SigV4-signed POST.

    Subscribers of ``onOrderUpdated(customerId)`` receive the mutation's result, so the
    selection set asks for every field of the order.
    """

    def __init__(
        self, url: str, region: str, credentials: Callable[[], Any], transport: Transport
    ) -> None:
        self._url = url
        self._signer = SigV4("appsync", region, credentials)
        self._transport = transport

    def publish(self, view: Mapping[str, Any], correlation_id: str | None = None) -> None:
        """Publish one view, with the id of the request that caused it; raise
        :class:`PublishFailed` unless AppSync returned data."""
        variables = {"order": dict(view), "correlationId": correlation_id}
        payload = {"query": PUBLISH_ORDER_UPDATE, "variables": variables}
        try:
            answer = self._transport.post_json(self._url, payload, sign=self._signer)
        except Unreachable as error:
            raise PublishFailed(f"AppSync did not answer: {error}") from error
        if answer.status != 200:
            raise PublishFailed(f"AppSync answered HTTP {answer.status}")
        try:
            result = answer.json()
        except ValueError as error:
            raise PublishFailed("AppSync answered something that is not JSON") from error
        if not isinstance(result, dict):
            raise PublishFailed("AppSync answered something that is not a JSON object")
        if result.get("errors") or not (result.get("data") or {}).get("publishOrderUpdate"):
            raise PublishFailed(f"AppSync refused the update: {result.get('errors')}")


class IdempotentDeliveries:
    """The notifier's :class:`~functions.notifier.notify.Once` over the regional idempotency table.

    Powertools' ``idempotent_function`` writes an in-progress record before the delivery, marks
    it completed after, and deletes it when the delivery raises, so only a success is skipped
    on retry. The table's key is ``id`` and its TTL ``expiration`` (powertools' defaults).
    """

    def __init__(
        self, client: Any, table_name: str, remember_seconds: int = DELIVERY_MEMORY_SECONDS
    ) -> None:
        self._config = IdempotencyConfig(expires_after_seconds=remember_seconds)
        store = DynamoDBPersistenceLayer(
            table_name=table_name,
            key_attr=IDEMPOTENCY_PARTITION_KEY,
            expiry_attr=IDEMPOTENCY_TTL_ATTRIBUTE,
            boto3_client=client,
        )

        @idempotent_function(
            data_keyword_argument="delivery", persistence_store=store, config=self._config
        )
        def deliver_once(deliver: Callable[[], int], *, delivery: dict[str, Any]) -> int:
            # Only ``delivery`` (order, version, channel) is hashed into the record's key.
            return deliver()

        self._deliver_once = deliver_once

    def register_lambda_context(self, context: Any) -> None:
        """Let an in-progress record expire with the invocation, should Lambda time out mid-delivery.

        Without it, a timed-out delivery would block every retry until the record expires.
        """
        self._config.register_lambda_context(context)

    def __call__(self, key: Mapping[str, Any], deliver: Callable[[], int]) -> int:
        """``deliver()`` unless a delivery with this key already succeeded."""
        return int(self._deliver_once(deliver, delivery=dict(key)))
