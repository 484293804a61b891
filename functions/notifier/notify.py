"""What the notifier does with one stream record, over ports that tests can fake.

Only the order's view item is announced (``sk = VIEW``): the customer's order-list item
carries the same view and would announce every change twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Protocol

from functions.orders.read_model import (
    ORDER_VIEW_SORT_KEY,
    SORT_KEY,
    VERSION_ATTRIBUTE,
    VIEW_ATTRIBUTE,
)
from functions.read_side.views import api_view


class Subscriptions(Protocol):
    """The connections table as the notifier sees it."""

    def subscribers(self, customer_id: str) -> Iterable[str]:
        """Connections subscribed to a customer."""
        ...

    def disconnect(self, connection_id: str) -> None:
        """Forget a connection."""
        ...


class Pusher(Protocol):
    """Sends one message to one WebSocket connection."""

    def push(self, connection_id: str, data: bytes) -> bool:
        """True if delivered, False if the connection is gone (410)."""
        ...


class Publisher(Protocol):
    """Publishes a view to GraphQL subscribers."""

    def publish(self, view: Mapping[str, Any]) -> None:
        """Raise if the update could not be published."""
        ...


def _version(image: Mapping[str, Any] | None) -> Decimal | None:
    if not image or VERSION_ATTRIBUTE not in image:
        return None
    return Decimal(image[VERSION_ATTRIBUTE])


def changed_view(
    keys: Mapping[str, Any],
    new_image: Mapping[str, Any] | None,
    old_image: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """The API view to announce for a stream change, or None when clients see no change."""
    if keys.get(SORT_KEY) != ORDER_VIEW_SORT_KEY or not new_image:
        return None
    if VIEW_ATTRIBUTE not in new_image:
        return None
    old, new = _version(old_image), _version(new_image)
    if old is not None and new is not None and new <= old:
        return None
    return api_view(new_image[VIEW_ATTRIBUTE])


class OrderNotifier:
    """Delivers one view to every WebSocket subscriber of its customer and to AppSync."""

    def __init__(self, subscriptions: Subscriptions, pusher: Pusher, publisher: Publisher) -> None:
        self._subscriptions = subscriptions
        self._pusher = pusher
        self._publisher = publisher

    def notify(self, view: Mapping[str, Any]) -> int:
        """Push to the customer's connections, drop the gone ones, publish; return deliveries."""
        message = json.dumps({"type": "orderUpdated", "order": view}, separators=(",", ":")).encode(
            "utf-8"
        )
        delivered = 0
        for connection_id in list(self._subscriptions.subscribers(view["customerId"])):
            if self._pusher.push(connection_id, message):
                delivered += 1
            else:
                self._subscriptions.disconnect(connection_id)
        self._publisher.publish(view)
        return delivered
