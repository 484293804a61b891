"""DynamoDB adapters of the read side: the order views and the page-token key.

Each takes its boto3 client in the constructor and turns AWS errors into read-side errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError

from functions.orders.read_model import (
    PARTITION_KEY,
    SORT_KEY,
    VIEW_ATTRIBUTE,
    customer_partition,
    order_key,
)
from functions.read_side.errors import InvalidInput, Unavailable
from functions.read_side.queries import StoredPage

_DESERIALIZE = TypeDeserializer().deserialize
_ORDER_ITEM_PREFIX = "ORDER#"


def _plain(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZE(value) for name, value in attributes.items()}


class DynamoOrderReader:
    """Reads order views from one table: the local region's replica of the global table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get_view(self, order_id: str) -> Mapping[str, Any] | None:
        """The stored view of one order, or None."""
        try:
            answer = self._client.get_item(
                TableName=self._table,
                Key={name: {"S": value} for name, value in order_key(order_id).items()},
                ProjectionExpression="#v",
                ExpressionAttributeNames={"#v": VIEW_ATTRIBUTE},
            )
        except (ClientError, BotoCoreError) as error:
            raise Unavailable("the order table cannot be read right now") from error
        item = answer.get("Item")
        if not item or VIEW_ATTRIBUTE not in item:
            return None
        view: Mapping[str, Any] = _plain(item)[VIEW_ATTRIBUTE]
        return view

    def list_views(self, customer_id: str, limit: int, after: str | None) -> StoredPage:
        """Up to ``limit`` views of a customer, newest first, after sort key ``after``."""
        partition = customer_partition(customer_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {
                "#pk": PARTITION_KEY,
                "#sk": SORT_KEY,
                "#v": VIEW_ATTRIBUTE,
            },
            "ExpressionAttributeValues": {
                ":pk": {"S": partition},
                ":prefix": {"S": _ORDER_ITEM_PREFIX},
            },
            "ProjectionExpression": "#sk, #v",
            "ScanIndexForward": False,
            # One more than asked: whether it exists decides if there is a next page, so the
            # last page never carries a token that leads to an empty page.
            "Limit": limit + 1,
        }
        if after is not None:
            if not after.startswith(_ORDER_ITEM_PREFIX):
                raise InvalidInput("nextToken does not point into an order list", "nextToken")
            request["ExclusiveStartKey"] = {PARTITION_KEY: {"S": partition}, SORT_KEY: {"S": after}}
        try:
            answer = self._client.query(**request)
        except (ClientError, BotoCoreError) as error:
            raise Unavailable("the order table cannot be read right now") from error
        items = [_plain(item) for item in answer.get("Items", [])]
        page = items[:limit]
        # A response cut at 1 MB also has a next page, even with fewer items than asked.
        more = len(items) > limit or "LastEvaluatedKey" in answer
        next_position = str(page[-1][SORT_KEY]) if more and page else None
        return StoredPage(
            views=[item[VIEW_ATTRIBUTE] for item in page], next_position=next_position
        )


class SecretKeySource:
    """Loads the page-token key from a Secrets Manager secret (its SecretString)."""

    def __init__(self, client: Any, secret_id: str) -> None:
        self._client = client
        self._secret_id = secret_id

    def load(self) -> bytes:
        """The key bytes, or :class:`Unavailable` while Secrets Manager refuses (throttled, denied).

        Never a fallback key: a read fails rather than issue tokens no other region accepts.
        """
        try:
            secret = self._client.get_secret_value(SecretId=self._secret_id)
        except (ClientError, BotoCoreError) as error:
            raise Unavailable("the page-token key cannot be read right now") from error
        text = secret.get("SecretString")
        if not text:
            raise RuntimeError(f"secret {self._secret_id} has no SecretString")
        return str(text).encode("utf-8")
