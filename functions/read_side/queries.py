"""The two reads the API offers, over any :class:`OrderReader` (DynamoDB, or a fake in tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from functions.read_side.errors import InvalidInput, NotFound
from functions.read_side.tokens import PageTokens
from functions.read_side.views import api_view, valid_id, valid_limit


@dataclass(frozen=True)
class StoredPage:
    """One page of a customer's stored views, newest first, and where the next one starts."""

    views: Sequence[Mapping[str, Any]]
    next_position: str | None


class OrderReader(Protocol):
    """Reads stored order views from the local region's table."""

    def get_view(self, order_id: str) -> Mapping[str, Any] | None:
        """The stored view of one order, or None."""
        ...

    def list_views(self, customer_id: str, limit: int, after: str | None) -> StoredPage:
        """Up to ``limit`` of a customer's views, newest first, after sort key ``after``."""
        ...


class OrderQueries:
    """``getOrder`` and ``listOrders``: validate, read once, shape the view."""

    def __init__(self, reader: OrderReader, tokens: PageTokens) -> None:
        self._reader = reader
        self._tokens = tokens

    def get_order(self, order_id: object) -> dict[str, Any]:
        """The view of one order, or :class:`NotFound`."""
        stored = self._reader.get_view(valid_id(order_id, "orderId"))
        if stored is None:
            raise NotFound("no order with this id", "orderId")
        return api_view(stored)

    def list_orders(
        self, customer_id: object, limit: object = None, next_token: object = None
    ) -> dict[str, Any]:
        """One page of a customer's orders, newest first: ``{items, nextToken}``."""
        customer = valid_id(customer_id, "customerId")
        size = valid_limit(limit)
        after: str | None = None
        if next_token is not None and next_token != "":
            if not isinstance(next_token, str):
                raise InvalidInput("nextToken must be a string", "nextToken")
            after = self._tokens.position(customer, next_token)
        page = self._reader.list_views(customer, size, after)
        token = None
        if page.next_position is not None:
            token = self._tokens.issue(customer, page.next_position)
        return {"items": [api_view(view) for view in page.views], "nextToken": token}
