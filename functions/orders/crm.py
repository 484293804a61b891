"""HTTP adapter of the optional on-premises CRM, reached over the VPN or Direct Connect."""

from __future__ import annotations

from functions.orders.errors import CustomerRejected
from functions.orders.payments import post_json


class HttpCrm:
    """POSTs each confirmed purchase to the CRM; a 4xx refuses the order, a 5xx is retried."""

    def __init__(self, url: str, timeout_seconds: float = 3.0):
        self._url = url
        self._timeout = timeout_seconds

    def order_placed(self, customer_id: str, order_id: str, total: int, currency: str) -> None:
        """Tell the CRM about the order, idempotently on the order id."""
        post_json(
            self._url,
            {"customerId": customer_id, "orderId": order_id, "total": total, "currency": currency},
            {"idempotency-key": f"{order_id}:crm"},
            self._timeout,
            CustomerRejected,
        )
