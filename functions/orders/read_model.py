"""The read model's key schema: the one place the table definition and the functions share.

The global table holds three kinds of item, told apart by their keys:

- the order view, ``pk = ORDER#<orderId>``, ``sk = VIEW``: exactly what ``GET /orders/{id}`` returns;
- the customer's order-list item, ``pk = CUSTOMER#<customerId>``,
  ``sk = ORDER#<createdAt>#<orderId>``, so a query on the partition in reverse is newest first;
- the control record, ``pk = CONTROL``, ``sk = PRIMARY``: which region writes, and the mode.

Both the view item and the order-list item carry the API's order view under the attribute
``view`` (the exact JSON ``GET /orders/{id}`` returns: ``orderId, customerId, status, items,
total, currency, payment: {status}, updatedAt``; money in integer minor units) and a numeric
``version`` that only grows, so a conditional write never lets an older event win.

This module imports nothing from AWS so that the Pulumi program can import it too.
"""

from __future__ import annotations

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expiresAt"
VERSION_ATTRIBUTE = "version"
VIEW_ATTRIBUTE = "view"
# On the order view item only, next to ``view`` (never inside it, so never shown): the hash of
# the request the order was placed with, which the write API compares a retry's body with.
FINGERPRINT_ATTRIBUTE = "fingerprint"
# Beside it, also never shown in the view: the correlation id of the request whose event the
# view was projected from. The notifier logs under it and hands it to WebSocket subscribers, so
# a client and the on-call can follow one request from POST to notification.
CORRELATION_ATTRIBUTE = "correlationId"

# (name, DynamoDB scalar type) of every key attribute of the global table.
KEY_ATTRIBUTES: tuple[tuple[str, str], ...] = ((PARTITION_KEY, "S"), (SORT_KEY, "S"))

ORDER_VIEW_SORT_KEY = "VIEW"
CONTROL_PARTITION_KEY = "CONTROL"
CONTROL_SORT_KEY = "PRIMARY"
# The control record's attributes: the primary region, its internal write URL, the mode.
CONTROL_PRIMARY_REGION = "primaryRegion"
CONTROL_WRITE_URL = "writeUrl"
CONTROL_MODE = "mode"

# Regional WebSocket connections table: one item per connection, found by customer.
CONNECTIONS_PARTITION_KEY = "connectionId"
CONNECTIONS_CUSTOMER_INDEX = "byCustomer"
CONNECTIONS_CUSTOMER_ATTRIBUTE = "customerId"

# Regional idempotency table, in the shape aws-lambda-powertools' DynamoDBPersistenceLayer
# expects by default.
IDEMPOTENCY_PARTITION_KEY = "id"
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"


def order_key(order_id: str) -> dict[str, str]:
    """The key of an order's view."""
    return {PARTITION_KEY: f"ORDER#{order_id}", SORT_KEY: ORDER_VIEW_SORT_KEY}


def customer_partition(customer_id: str) -> str:
    """The partition that holds one customer's order-list items."""
    return f"CUSTOMER#{customer_id}"


def customer_order_key(customer_id: str, created_at: str, order_id: str) -> dict[str, str]:
    """The key of one item in a customer's order list; ``created_at`` is ISO 8601 UTC."""
    return {
        PARTITION_KEY: customer_partition(customer_id),
        SORT_KEY: f"ORDER#{created_at}#{order_id}",
    }


def control_key() -> dict[str, str]:
    """The key of the control record that names the primary region and the mode."""
    return {PARTITION_KEY: CONTROL_PARTITION_KEY, SORT_KEY: CONTROL_SORT_KEY}
