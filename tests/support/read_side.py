"""Test doubles and builders for the read side: views, events, tables, an in-memory reader."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import boto3

from functions.orders.read_model import (
    CONNECTIONS_CUSTOMER_ATTRIBUTE,
    CONNECTIONS_CUSTOMER_INDEX,
    CONNECTIONS_PARTITION_KEY,
    CORRELATION_ATTRIBUTE,
    IDEMPOTENCY_PARTITION_KEY,
    KEY_ATTRIBUTES,
    PARTITION_KEY,
    SORT_KEY,
    VERSION_ATTRIBUTE,
    VIEW_ATTRIBUTE,
    customer_order_key,
    order_key,
)
from functions.read_side.queries import StoredPage

TOKEN_KEY = b"test-page-token-key-0123456789"


def a_view(order_id: str = "o-1", customer_id: str = "c-1", **changes: Any) -> dict[str, Any]:
    """An API order view with sensible defaults; ``changes`` override top-level fields."""
    view: dict[str, Any] = {
        "orderId": order_id,
        "customerId": customer_id,
        "status": "CONFIRMED",
        "items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": 1250}],
        "total": 2500,
        "currency": "EUR",
        "payment": {"status": "CAPTURED"},
        "updatedAt": "2024-05-01T10:00:00Z",
    }
    view.update(changes)
    return view


def http_event(
    route_key: str, path: Mapping[str, str] | None = None, query: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for one of the read routes."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": "/",
        "requestContext": {"http": {"method": "GET"}},
    }
    if path is not None:
        event["pathParameters"] = dict(path)
    if query is not None:
        event["queryStringParameters"] = dict(query)
    return event


class InMemoryOrderReader:
    """An OrderReader over dicts, with the table's ordering: newest first by sort key."""

    def __init__(self) -> None:
        self.views: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, dict[str, dict[str, Any]]] = {}

    def add(self, view: dict[str, Any], created_at: str) -> None:
        """Store a view and its customer order-list item."""
        self.views[view["orderId"]] = view
        key = customer_order_key(view["customerId"], created_at, view["orderId"])
        self.lists.setdefault(view["customerId"], {})[key[SORT_KEY]] = view

    def get_view(self, order_id: str) -> Mapping[str, Any] | None:
        """The stored view of one order, or None."""
        return self.views.get(order_id)

    def list_views(self, customer_id: str, limit: int, after: str | None) -> StoredPage:
        """Up to ``limit`` views after sort key ``after``, newest first."""
        keys = sorted(self.lists.get(customer_id, {}), reverse=True)
        if after is not None:
            keys = [k for k in keys if k < after]
        page = keys[:limit]
        more = len(keys) > limit
        return StoredPage([self.lists[customer_id][k] for k in page], page[-1] if more else None)


def create_order_table(client: Any, name: str, stream: bool = False) -> None:
    """The global table's key schema, as read_model declares it."""
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in KEY_ATTRIBUTES],
        KeySchema=[
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        **extra,
    )


def create_connections_table(client: Any, name: str) -> None:
    """The regional connections table with its by-customer index."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": CONNECTIONS_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": CONNECTIONS_CUSTOMER_ATTRIBUTE, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": CONNECTIONS_PARTITION_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": CONNECTIONS_CUSTOMER_INDEX,
                "KeySchema": [{"AttributeName": CONNECTIONS_CUSTOMER_ATTRIBUTE, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )


def create_idempotency_table(client: Any, name: str) -> None:
    """The regional idempotency table, as read_model declares it (powertools' default shape)."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": IDEMPOTENCY_PARTITION_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": IDEMPOTENCY_PARTITION_KEY, "KeyType": "HASH"}],
    )


def put_order(
    table: Any,
    view: dict[str, Any],
    created_at: str,
    version: int = 1,
    correlation_id: str | None = None,
) -> None:
    """Write a view the way the projector does: the view item (with the correlation id of the
    request that caused it, when given) and the order-list item."""
    caused_by = {CORRELATION_ATTRIBUTE: correlation_id} if correlation_id else {}
    table.put_item(
        Item={
            **order_key(view["orderId"]),
            VIEW_ATTRIBUTE: view,
            VERSION_ATTRIBUTE: version,
            **caused_by,
        }
    )
    listed = customer_order_key(view["customerId"], created_at, view["orderId"])
    table.put_item(Item={**listed, VIEW_ATTRIBUTE: view, VERSION_ATTRIBUTE: version})


def region_environment(postgres_dsn: str, region: str, table: str) -> dict[str, str]:
    """What the health and read functions of a member region read, pointed at a moto table
    named ``table`` and the test run's PostgreSQL (no IAM auth, no TLS)."""
    parts = urlsplit(postgres_dsn)
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "ROLE": "secondary",
        "TABLE_NAME": table,
        "DB_READER_HOST": parts.hostname or "127.0.0.1",
        "DB_PORT": str(parts.port),
        "DB_NAME": parts.path.lstrip("/"),
        "DB_USER": parts.username or "postgres",
        "DB_IAM_AUTH": "false",
    }


def use_page_token_secret(monkeypatch: Any, region: str, value: str = "k" * 32) -> None:
    """The page-token key in (moto's) Secrets Manager, named by PAGE_TOKEN_SECRET_ARN as the
    read API, GraphQL and WebSocket functions read it."""
    secret = boto3.client("secretsmanager", region_name=region).create_secret(
        Name="page-token-key", SecretString=value
    )
    monkeypatch.setenv("PAGE_TOKEN_SECRET_ARN", secret["ARN"])
