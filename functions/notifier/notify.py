"""What the notifier does with one stream record, over ports that tests can fake.

Only the order's view item is announced (``sk = VIEW``): the customer's order-list item
carries the same view and would announce every change twice.

An update goes out on two channels, the region's WebSocket subscribers and AppSync, each
recorded once done (:class:`Once`): the stream retries a whole record when either fails,
and the retry must not send again what the other channel already delivered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from functions import correlation
from functions.orders.read_model import (
    CORRELATION_ATTRIBUTE,
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

    def publish(self, view: Mapping[str, Any], correlation_id: str | None = None) -> None:
        """Raise if the update could not be published."""
        ...


class Once(Protocol):
    """Runs a delivery at most once per key: a retry of a delivery that succeeded is skipped.

    A delivery that raises is not recorded, so the retry runs it again.
    """

    def __call__(self, key: Mapping[str, Any], deliver: Callable[[], int]) -> int:
        """``deliver()``, or what it returned the time it succeeded."""
        ...


@dataclass(frozen=True)
class OrderUpdate:
    """A new version of an order's API view, to announce."""

    view: dict[str, Any]
    version: int | None  # the item's ``version``; None only for an item written without one
    # The correlation id of the request that caused this version (read_model), when known.
    correlation_id: str | None = None


WEBSOCKET = "websocket"
APPSYNC = "appsync"


def _version(image: Mapping[str, Any] | None) -> Decimal | None:
    if not image or VERSION_ATTRIBUTE not in image:
        return None
    return Decimal(image[VERSION_ATTRIBUTE])


def changed_order(
    keys: Mapping[str, Any],
    new_image: Mapping[str, Any] | None,
    old_image: Mapping[str, Any] | None,
) -> OrderUpdate | None:
    """The update to announce for a stream change, or None when clients see no change."""
    if keys.get(SORT_KEY) != ORDER_VIEW_SORT_KEY or not new_image:
        return None
    if VIEW_ATTRIBUTE not in new_image:
        return None
    old, new = _version(old_image), _version(new_image)
    if old is not None and new is not None and new <= old:
        return None
    caused_by = correlation.clean(new_image.get(CORRELATION_ATTRIBUTE))
    return OrderUpdate(
        api_view(new_image[VIEW_ATTRIBUTE]), None if new is None else int(new), caused_by
    )


class OrderNotifier:
    """Delivers one update to every WebSocket subscriber of its customer and to AppSync."""

    def __init__(
        self, subscriptions: Subscriptions, pusher: Pusher, publisher: Publisher, once: Once
    ) -> None:
        self._subscriptions = subscriptions
        self._pusher = pusher
        self._publisher = publisher
        self._once = once

    def notify(self, update: OrderUpdate) -> int:
        """Deliver on both channels, each at most once per version; return WebSocket deliveries.

        Raises when either channel failed (after trying both), so the record is retried.
        """
        view = update.view
        # updatedAt too: it tells apart two views should an item ever lack a version.
        key = {
            "orderId": view["orderId"],
            "version": update.version,
            "updatedAt": view["updatedAt"],
        }
        try:
            return self._once({**key, "channel": WEBSOCKET}, lambda: self._push(update))
        finally:
            # Publish even when the push failed: one channel's outage must not hold back the
            # other's subscribers. If both fail, the publish error is raised (chained).
            self._once({**key, "channel": APPSYNC}, lambda: self._publish(update))

    def _push(self, update: OrderUpdate) -> int:
        pushed: dict[str, Any] = {"type": "orderUpdated", "order": update.view}
        if update.correlation_id is not None:
            pushed[correlation.FIELD] = update.correlation_id
        data = json.dumps(pushed, separators=(",", ":")).encode("utf-8")
        delivered = 0
        for connection_id in list(self._subscriptions.subscribers(update.view["customerId"])):
            if self._pusher.push(connection_id, data):
                delivered += 1
            else:
                self._subscriptions.disconnect(connection_id)
        return delivered

    def _publish(self, update: OrderUpdate) -> int:
        self._publisher.publish(update.view, update.correlation_id)
        return 1
