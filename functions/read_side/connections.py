"""The regional WebSocket connections table: who is connected, and to which customer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from functions.orders.read_model import (
    CONNECTIONS_CUSTOMER_ATTRIBUTE,
    CONNECTIONS_CUSTOMER_INDEX,
    CONNECTIONS_PARTITION_KEY,
    TTL_ATTRIBUTE,
)


class ConnectionStore:
    """One item per WebSocket connection, expiring by TTL, found by customer through a GSI."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _key(self, connection_id: str) -> dict[str, Any]:
        return {CONNECTIONS_PARTITION_KEY: {"S": connection_id}}

    def connect(self, connection_id: str, connected_at: int, expires_at: int) -> None:
        """Record a new connection that no customer is subscribed on yet."""
        self._client.put_item(
            TableName=self._table,
            Item={
                **self._key(connection_id),
                "connectedAt": {"N": str(connected_at)},
                TTL_ATTRIBUTE: {"N": str(expires_at)},
            },
        )

    def subscribe(self, connection_id: str, customer_id: str, expires_at: int) -> None:
        """Point a connection at one customer's updates (replacing any earlier subscription)."""
        self._client.update_item(
            TableName=self._table,
            Key=self._key(connection_id),
            UpdateExpression="SET #c = :c, #t = :t",
            ExpressionAttributeNames={"#c": CONNECTIONS_CUSTOMER_ATTRIBUTE, "#t": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":c": {"S": customer_id}, ":t": {"N": str(expires_at)}},
        )

    def disconnect(self, connection_id: str) -> None:
        """Forget a connection (idempotent)."""
        self._client.delete_item(TableName=self._table, Key=self._key(connection_id))

    def subscribers(self, customer_id: str) -> Iterator[str]:
        """Ids of the connections subscribed to a customer, however the index projects."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": CONNECTIONS_CUSTOMER_INDEX,
            "KeyConditionExpression": "#c = :c",
            "ExpressionAttributeNames": {
                "#c": CONNECTIONS_CUSTOMER_ATTRIBUTE,
                "#id": CONNECTIONS_PARTITION_KEY,
            },
            "ExpressionAttributeValues": {":c": {"S": customer_id}},
            # No filter on expiresAt: a KEYS_ONLY index would not carry it. An expired
            # connection is closed by API Gateway anyway; pushing to it answers 410 and
            # the notifier deletes it.
            "ProjectionExpression": "#id",
        }
        while True:
            answer = self._client.query(**request)
            for item in answer.get("Items", []):
                yield item[CONNECTIONS_PARTITION_KEY]["S"]
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
