"""The checkout saga's steps and compensations, over ports: store, payments, CRM, events.

Each function takes the saga's state (the execution input, plus ``error`` after a Catch) and
returns a small result that the state machine discards (``ResultPath: null``). Each is
idempotent on the order id: run twice, it takes effect once, and it publishes its event again,
because a retry may follow a commit whose publish failed (publishing is a TransientError).

A CONFIRMED order is never compensated: if ConfirmOrder committed but kept failing to publish,
the compensations leave the order, the payment and the customer as they are and CancelOrder
fails the execution (``CompensationFailed``, an alarm): a person re-publishes the event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from functions.orders.domain import OrderStatus
from functions.orders.errors import ConfirmedOrderKept, CustomerRejected, PaymentDeclined
from functions.orders.payments import PaymentProvider


class OrderStore(Protocol):
    """The write model, as the steps use it (see ``store.PostgresOrderStore``)."""

    def done(self, order_id: str, step: str) -> bool: ...
    def reserve(
        self, order_id: str, fingerprint: str, request: dict[str, Any], total: int
    ) -> bool: ...
    def payment(self, order_id: str) -> dict[str, Any] | None: ...
    def order(self, order_id: str) -> dict[str, Any] | None: ...
    def set_payment(
        self,
        order_id: str,
        step: str,
        payment_status: str,
        order_status: OrderStatus | None = None,
        **ids: str | None,
    ) -> None: ...
    def note(self, order_id: str, step: str, outcome: str) -> None: ...
    def apply_to_customer(self, order_id: str, customer_id: str, amount: int) -> None: ...
    def revert_customer(self, order_id: str) -> bool: ...
    def set_status(
        self, order_id: str, step: str, status: OrderStatus, cause: str | None = None
    ) -> bool: ...


class DomainEvents(Protocol):
    """Publishes domain events for the projector and anyone else."""

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Publish one event."""
        ...


class Crm(Protocol):
    """The optional on-premises CRM that hears about every order."""

    def order_placed(self, customer_id: str, order_id: str, total: int, currency: str) -> None:
        """Tell the CRM; CustomerRejected if it refuses, TransientError if unreachable."""
        ...


def failure_cause(state: dict[str, Any]) -> str:
    """A readable cause from the error a Catch stored in the saga's state."""
    error = state.get("error") or {}
    name = str(error.get("Error") or "Unknown")
    try:
        message = json.loads(error.get("Cause") or "{}").get("errorMessage", "")
    except (ValueError, AttributeError):
        message = str(error.get("Cause") or "")
    return f"{name}: {message}" if message else name


@dataclass
class CheckoutSteps:
    """The saga's actions; one Lambda handler per method."""

    store: OrderStore
    payments: PaymentProvider
    events: DomainEvents
    crm: Crm | None = None

    def _event(self, detail_type: str, order_id: str) -> None:
        order = self.store.order(order_id) or {}
        self.events.publish(
            detail_type,
            {
                "orderId": order_id,
                "customerId": order.get("customer_id"),
                "status": order.get("status"),
                "version": order.get("version"),
            },
        )

    def _confirmed(self, order_id: str, step: str) -> bool:
        """True (and noted) when the order is CONFIRMED: a compensation then undoes nothing."""
        order = self.store.order(order_id)
        if order is None or order["status"] != OrderStatus.CONFIRMED.value:
            return False
        self.store.note(order_id, step, "kept: order confirmed")
        return True

    def reserve_order(self, state: dict[str, Any]) -> dict[str, Any]:
        """Insert the order, its lines and a pending payment in one transaction."""
        order_id = state["orderId"]
        self.store.reserve(order_id, state["fingerprint"], state["request"], state["total"])
        # Published on every attempt: a retry after a lost publish must not lose the event,
        # and the projector is idempotent.
        self._event("OrderPlaced", order_id)
        return {"orderId": order_id}

    def authorize_payment(self, state: dict[str, Any]) -> dict[str, Any]:
        """Authorize the total; a decline is recorded, then raised for the compensations."""
        order_id = state["orderId"]
        payment = self.store.payment(order_id)
        if payment is None:
            raise RuntimeError(f"order {order_id} was never reserved")
        if payment["status"] == "DECLINED":
            # A re-run after a decline whose event was lost: the decline stands.
            self._event("PaymentDeclined", order_id)
            raise PaymentDeclined(payment.get("decline_reason") or "declined")
        if payment["status"] == "PENDING":
            request = state["request"]
            try:
                auth = self.payments.authorize(
                    order_id, payment["amount"], payment["currency"], request["payment"]["token"]
                )
            except PaymentDeclined as declined:
                self.store.set_payment(
                    order_id, "AuthorizePayment", "DECLINED", decline_reason=str(declined)[:500]
                )
                self._event("PaymentDeclined", order_id)
                raise
            self.store.set_payment(
                order_id,
                "AuthorizePayment",
                "AUTHORIZED",
                OrderStatus.AUTHORIZED,
                authorization_id=auth,
            )
        self._event("PaymentAuthorized", order_id)
        return {"orderId": order_id}

    def capture_payment(self, state: dict[str, Any]) -> dict[str, Any]:
        """Capture the authorization."""
        order_id = state["orderId"]
        payment = self.store.payment(order_id) or {}
        if payment.get("status") == "AUTHORIZED":
            capture = self.payments.capture(
                order_id, payment["authorization_id"], payment["amount"]
            )
            self.store.set_payment(
                order_id, "CapturePayment", "CAPTURED", OrderStatus.CAPTURED, capture_id=capture
            )
        self._event("PaymentCaptured", order_id)
        return {"orderId": order_id}

    def update_customer(self, state: dict[str, Any]) -> dict[str, Any]:
        """Add the order to the customer's lifetime value and last order; tell the CRM."""
        order_id = state["orderId"]
        order = self.store.order(order_id)
        if order is None:
            raise CustomerRejected(f"order {order_id} does not exist")
        if not self.store.done(order_id, "UpdateCustomer"):
            if self.crm is not None:
                self.crm.order_placed(
                    order["customer_id"], order_id, order["total"], order["currency"]
                )
            self.store.apply_to_customer(order_id, order["customer_id"], order["total"])
        return {"orderId": order_id}

    def confirm_order(self, state: dict[str, Any]) -> dict[str, Any]:
        """Mark the order CONFIRMED."""
        order_id = state["orderId"]
        self.store.set_status(order_id, "ConfirmOrder", OrderStatus.CONFIRMED)
        self._event("OrderConfirmed", order_id)
        return {"orderId": order_id}

    def revert_customer(self, state: dict[str, Any]) -> dict[str, Any]:
        """Take back what UpdateCustomer added, if anything."""
        order_id = state["orderId"]
        if not self._confirmed(order_id, "RevertCustomer"):
            self.store.revert_customer(order_id)
        return {"orderId": order_id}

    def refund_payment(self, state: dict[str, Any]) -> dict[str, Any]:
        """Refund what was captured, even a capture whose answer was lost; nothing otherwise."""
        order_id = state["orderId"]
        if self._confirmed(order_id, "RefundPayment"):
            return {"orderId": order_id}
        payment = self.store.payment(order_id) or {}
        status, capture_id = payment.get("status"), payment.get("capture_id")
        if status == "AUTHORIZED":
            # Only CapturePayment's own failure leaves the payment AUTHORIZED here, and a capture
            # that timed out may still have been made: ask the provider, never void it blind.
            capture_id = self.payments.find_capture(order_id, payment["authorization_id"])
        if status in ("AUTHORIZED", "CAPTURED") and capture_id is not None:
            refund = self.payments.refund(order_id, capture_id, payment["amount"])
            self.store.set_payment(
                order_id, "RefundPayment", "REFUNDED", refund_id=refund, capture_id=capture_id
            )
            self._event("PaymentRefunded", order_id)
        elif status == "REFUNDED":
            self._event("PaymentRefunded", order_id)
        else:
            self.store.note(order_id, "RefundPayment", "nothing")
        return {"orderId": order_id}

    def void_authorization(self, state: dict[str, Any]) -> dict[str, Any]:
        """Release an authorization that was not captured; nothing otherwise."""
        order_id = state["orderId"]
        if self._confirmed(order_id, "VoidAuthorization"):
            return {"orderId": order_id}
        payment = self.store.payment(order_id)
        status = payment["status"] if payment else None
        if payment and status == "AUTHORIZED":
            self.payments.void(order_id, payment["authorization_id"])
            self.store.set_payment(order_id, "VoidAuthorization", "VOIDED")
            self._event("PaymentVoided", order_id)
        elif status == "VOIDED":
            self._event("PaymentVoided", order_id)
        else:
            self.store.note(order_id, "VoidAuthorization", "nothing")
        return {"orderId": order_id}

    def cancel_order(self, state: dict[str, Any]) -> dict[str, Any]:
        """Mark the order FAILED with the cause the Catch recorded."""
        order_id = state["orderId"]
        order = self.store.order(order_id)
        if order is None:
            # ReserveOrder itself failed: there is no row to mark, only the audit trail.
            self.store.note(order_id, "CancelOrder", "nothing")
            return {"orderId": order_id}
        if order["status"] == OrderStatus.CONFIRMED.value:
            raise ConfirmedOrderKept(
                f"order {order_id} is CONFIRMED and was kept, its payment too; the saga failed "
                f"after the confirmation ({failure_cause(state)}): re-publish its events"
            )
        if order["status"] != OrderStatus.FAILED.value:
            self.store.set_status(
                order_id, "CancelOrder", OrderStatus.FAILED, failure_cause(state)[:1000]
            )
        self._event("OrderFailed", order_id)
        return {"orderId": order_id}
