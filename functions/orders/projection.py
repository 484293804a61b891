"""The order view: the exact JSON ``GET /orders/{id}`` returns, built from normalized rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a ``Z``: sorts as text in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Snapshot:
    """An order as the write model holds it at one version."""

    order_id: str
    customer_id: str
    status: str
    currency: str
    total: int
    items: tuple[tuple[str, int, int], ...]
    payment_status: str
    version: int
    created_at: datetime
    updated_at: datetime
    # The hash of the request the order was placed with: stored with the view so that every
    # region's write API can answer 409 to a key reused with another body (never shown).
    fingerprint: str | None = None

    def view(self) -> dict[str, Any]:
        """The order view in the API's shape; money in integer minor units."""
        return {
            "orderId": self.order_id,
            "customerId": self.customer_id,
            "status": self.status,
            "items": [{"sku": sku, "quantity": q, "unitPrice": p} for sku, q, p in self.items],
            "total": self.total,
            "currency": self.currency,
            "payment": {"status": self.payment_status},
            "updatedAt": iso_utc(self.updated_at),
        }
