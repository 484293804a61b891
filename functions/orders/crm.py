"""HTTP adapter of the optional on-premises CRM, reached over the VPN or Direct Connect.

CRM API (``crmUrl`` in the stack file is ``<base>``):

- ``POST <base>`` ``{customerId, orderId, total, currency}``: an order reached UpdateCustomer
  (captured, not yet confirmed). A 4xx refuses the order (the saga compensates it); a 5xx or
  a timeout is retried with the same ``Idempotency-Key: <orderId>:crm``.
- ``POST <base>/<orderId>/failed`` ``{customerId, orderId}``: an order the CRM was told of
  has failed after all (``Idempotency-Key: <orderId>:crm-failed``). It may arrive before a
  placement whose answer was lost: the CRM keeps the order failed whatever comes after.
"""

from __future__ import annotations

from urllib.parse import quote

from functions.orders.errors import CustomerRejected
from functions.orders.payments import post_json
from functions.outbound import Transport


class HttpCrm:
    """Tells the CRM of each order that reaches UpdateCustomer, and of its failure after."""

    def __init__(self, url: str, timeout_seconds: float = 3.0):
        self._url = url.rstrip("/")
        self._transport = Transport(timeout_seconds)

    def order_placed(self, customer_id: str, order_id: str, total: int, currency: str) -> None:
        """Tell the CRM about the order, idempotently on the order id."""
        post_json(
            self._transport,
            self._url,
            {"customerId": customer_id, "orderId": order_id, "total": total, "currency": currency},
            {"idempotency-key": f"{order_id}:crm"},
            CustomerRejected,
        )

    def order_failed(self, customer_id: str, order_id: str) -> None:
        """Tell the CRM the order failed after it was told of it, idempotently."""
        post_json(
            self._transport,
            f"{self._url}/{quote(order_id, safe='')}/failed",
            {"customerId": customer_id, "orderId": order_id},
            {"idempotency-key": f"{order_id}:crm-failed"},
            CustomerRejected,
        )
