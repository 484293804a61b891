"""The checkout saga's steps and compensations, over ports: store, payment provider, CRM.

Each function takes the saga's state (the execution input, plus ``error`` after a Catch) and
returns a small result the handler logs (the state machine discards it: ``ResultPath:
null``). Each is idempotent on the order id: run twice, it takes effect once. None publishes:
every change writes its event to the outbox in its own transaction (``store.py``), so a bus
that refuses events never fails, retries or compensates an order.

An order that has ended is final. A forward step acts only on an order that may still move
forward, under the order's row lock; on an order that ended FAILED it does nothing, and
ConfirmOrder then raises ``OrderEnded`` so that the compensations run and finish whatever an
earlier run left undone (a saga run again after a failover, or after Step Functions forgot
the execution's name). A step whose provider call landed after the order ended undoes it at
once. A CONFIRMED order is never compensated: the compensations keep the order, the payment
and the customer, and CancelOrder fails the execution (``CompensationFailed``, an alarm).

Compensations ask the provider when the saga's own record cannot know (an answer lost on
every attempt): the authorization's state by its id, or by the authorize call's idempotency
key when even its id never arrived, and act on what the provider holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from functions.orders.domain import OrderStatus
from functions.orders.errors import (
    ConfirmedOrderKept,
    CustomerRejected,
    OrderEnded,
    PaymentDeclined,
    PaymentNotConfigured,
    PaymentRejected,
    ProviderStateUnexpected,
)
from functions.orders.payments import (
    AUTHORIZED,
    CAPTURED,
    REFUNDED,
    RELEASED,
    Authorization,
    PaymentProvider,
)
from functions.orders.store import FINAL, Applied, Failing

# Notes in saga_steps about the CRM: a placement about to be sent, refused, and withdrawn.
CRM_TOLD = "TellCrm"
CRM_REFUSED = "CrmRefused"
CRM_WITHDRAWN = "CrmToldFailed"


class OrderStore(Protocol):
    """The write model, as the steps use it (see ``store.PostgresOrderStore``)."""

    def done(self, order_id: str, step: str) -> bool: ...
    def reserve(
        self, order_id: str, fingerprint: str, request: dict[str, Any], total: int
    ) -> bool: ...
    def payment(self, order_id: str) -> dict[str, Any] | None: ...
    def order(self, order_id: str) -> dict[str, Any] | None: ...
    def authorization_sent(self, order_id: str) -> bool: ...
    def authorization_refused(self, order_id: str) -> None: ...
    def decline(self, order_id: str, reason: str) -> None: ...
    def advance(
        self,
        order_id: str,
        step: str,
        order_status: OrderStatus,
        payment_status: str,
        event: str,
        **ids: str | None,
    ) -> Applied: ...
    def settle(
        self,
        order_id: str,
        from_statuses: set[str],
        payment_status: str,
        event: str | None,
        **ids: str | None,
    ) -> bool: ...
    def fail(self, order_id: str, cause: str) -> Failing: ...
    def confirm(self, order_id: str) -> Applied: ...
    def intend(self, order_id: str, step: str) -> bool: ...
    def note(self, order_id: str, step: str, outcome: str) -> None: ...
    def revert_customer(self, order_id: str) -> bool: ...


class Crm(Protocol):
    """The optional on-premises CRM that hears about every order."""

    def order_placed(self, customer_id: str, order_id: str, total: int, currency: str) -> None:
        """Tell the CRM; CustomerRejected if it refuses, TransientError if unreachable."""
        ...

    def order_failed(self, customer_id: str, order_id: str) -> None:
        """Tell the CRM that an order it was told of has failed; TransientError if unreachable."""
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


def _result(order_id: str, outcome: str) -> dict[str, Any]:
    return {"orderId": order_id, "outcome": outcome}


@dataclass
class CheckoutSteps:
    """The saga's actions; one Lambda handler per method."""

    store: OrderStore
    payments: PaymentProvider
    crm: Crm | None = None

    # -- forward steps -------------------------------------------------------------------

    def _live(self, order_id: str) -> dict[str, Any] | None:
        """The order while forward steps may act on it; None once it has ended."""
        order = self.store.order(order_id)
        if order is None:
            raise RuntimeError(f"order {order_id} was never reserved")
        return None if order["status"] in FINAL else order

    def reserve_order(self, state: dict[str, Any]) -> dict[str, Any]:
        """Insert the order, its lines and a pending payment in one transaction."""
        order_id = state["orderId"]
        created = self.store.reserve(
            order_id, state["fingerprint"], state["request"], state["total"]
        )
        return _result(order_id, "reserved" if created else "already reserved")

    def authorize_payment(self, state: dict[str, Any]) -> dict[str, Any]:
        """Authorize the total; a decline is recorded, then raised for the compensations."""
        order_id = state["orderId"]
        if self._live(order_id) is None:
            return _result(order_id, "order ended: nothing done")
        payment = self.store.payment(order_id) or {}
        if payment.get("status") == "DECLINED":
            # A re-run after a decline: the decline stands.
            raise PaymentDeclined(payment.get("decline_reason") or "declined")
        if payment.get("status") != "PENDING":
            return _result(order_id, "already authorized")
        if not self.store.authorization_sent(order_id):
            return _result(order_id, "order ended: nothing sent")
        try:
            auth = self.payments.authorize(
                order_id,
                payment["amount"],
                payment["currency"],
                state["request"]["payment"]["token"],
            )
        except PaymentDeclined as declined:
            self.store.decline(order_id, str(declined)[:500])
            raise
        except (PaymentNotConfigured, PaymentRejected):
            # Refused at the door (the API key, the request): this attempt authorized nothing.
            self.store.authorization_refused(order_id)
            raise
        outcome = self.store.advance(
            order_id,
            "AuthorizePayment",
            OrderStatus.AUTHORIZED,
            "AUTHORIZED",
            "PaymentAuthorized",
            authorization_id=auth,
        )
        if outcome is Applied.ENDED:
            # The order ended while this authorization was on its way: release it now, as
            # no compensation will run for it any more.
            self.store.settle(order_id, {"PENDING"}, "AUTHORIZED", None, authorization_id=auth)
            return _result(order_id, self._release(order_id, payment["amount"], auth))
        return _result(order_id, outcome.value)

    def capture_payment(self, state: dict[str, Any]) -> dict[str, Any]:
        """Capture the authorization."""
        order_id = state["orderId"]
        if self._live(order_id) is None:
            return _result(order_id, "order ended: nothing done")
        payment = self.store.payment(order_id) or {}
        if payment.get("status") != "AUTHORIZED":
            return _result(order_id, "already captured")
        auth = payment["authorization_id"]
        capture = self.payments.capture(order_id, auth, payment["amount"])
        outcome = self.store.advance(
            order_id,
            "CapturePayment",
            OrderStatus.CAPTURED,
            "CAPTURED",
            "PaymentCaptured",
            capture_id=capture,
        )
        if outcome is Applied.ENDED:
            # Captured after the order ended: give the money back now.
            self.store.settle(order_id, {"AUTHORIZED"}, "CAPTURED", None, capture_id=capture)
            return _result(order_id, self._release(order_id, payment["amount"], auth))
        return _result(order_id, outcome.value)

    def update_customer(self, state: dict[str, Any]) -> dict[str, Any]:
        """Tell the on-premises CRM of the order, which may refuse it; nothing without a CRM.

        The customer's lifetime value and last order change in ConfirmOrder's transaction,
        so that only a confirmed order is ever counted.
        """
        order_id = state["orderId"]
        order = self._live(order_id)
        if order is None:
            return _result(order_id, "order ended: nothing done")
        if self.crm is None or self.store.done(order_id, "UpdateCustomer"):
            return _result(order_id, "nothing to tell")
        if not self.store.intend(order_id, CRM_TOLD):
            return _result(order_id, "order ended: nothing sent")
        try:
            self.crm.order_placed(order["customer_id"], order_id, order["total"], order["currency"])
        except CustomerRejected:
            # The CRM knows it refused: nothing to withdraw later.
            self.store.note(order_id, CRM_REFUSED, "refused")
            raise
        self.store.note(order_id, "UpdateCustomer", "crm told")
        return _result(order_id, "crm told")

    def confirm_order(self, state: dict[str, Any]) -> dict[str, Any]:
        """Mark the order CONFIRMED and count it for its customer, in one transaction."""
        order_id = state["orderId"]
        outcome = self.store.confirm(order_id)
        if outcome is Applied.ENDED:
            raise OrderEnded(
                f"order {order_id} has ended FAILED: this run takes no effect, and its "
                "compensations finish what is left to undo"
            )
        return _result(order_id, outcome.value)

    # -- compensations ---------------------------------------------------------------------

    def _compensating(self, state: dict[str, Any], step: str) -> dict[str, Any] | None:
        """The order this compensation acts on, now FAILED; None when it must not act."""
        order_id = state["orderId"]
        order = self.store.order(order_id)
        if order is None:
            return None
        if order["fingerprint"] != state["fingerprint"]:
            # The order of another request with the same key (a reused key): not this
            # execution's to touch, nor to write in its audit trail.
            return None
        if self.store.fail(order_id, failure_cause(state)[:1000]) is Failing.CONFIRMED:
            self.store.note(order_id, step, "kept: order confirmed")
            return None
        return order

    def revert_customer(self, state: dict[str, Any]) -> dict[str, Any]:
        """Tell the CRM the order failed, if it was told of it; take back any credit."""
        order_id = state["orderId"]
        order = self._compensating(state, "RevertCustomer")
        if order is None:
            return _result(order_id, "nothing")
        outcome = "reverted" if self.store.revert_customer(order_id) else "nothing"
        told = self.store.done(order_id, CRM_TOLD)
        if (
            self.crm is not None
            and told
            and not self.store.done(order_id, CRM_REFUSED)
            and not self.store.done(order_id, CRM_WITHDRAWN)
        ):
            self.crm.order_failed(order["customer_id"], order_id)
            self.store.note(order_id, CRM_WITHDRAWN, "told")
            outcome = "crm told the order failed"
        self.store.note(order_id, "RevertCustomer", outcome)
        return _result(order_id, outcome)

    def refund_payment(self, state: dict[str, Any]) -> dict[str, Any]:
        """Refund what the provider captured, even a capture whose answer was lost."""
        order_id = state["orderId"]
        if self._compensating(state, "RefundPayment") is None:
            return _result(order_id, "nothing")
        payment = self.store.payment(order_id) or {}
        outcome = "nothing"
        if payment.get("status") in ("AUTHORIZED", "CAPTURED"):
            # The record may be behind the provider (a capture or a refund whose answer was
            # lost): what the provider holds decides.
            held = self.payments.authorization(order_id, payment["authorization_id"])
            if held.status in (CAPTURED, REFUNDED):
                outcome = self._refund(order_id, payment["amount"], held)
        self.store.note(order_id, "RefundPayment", outcome)
        return _result(order_id, outcome)

    def void_authorization(self, state: dict[str, Any]) -> dict[str, Any]:
        """Release the authorization, even one whose answer never arrived; nothing otherwise."""
        order_id = state["orderId"]
        if self._compensating(state, "VoidAuthorization") is None:
            return _result(order_id, "nothing")
        payment = self.store.payment(order_id) or {}
        outcome = "nothing"
        if payment.get("status") in ("AUTHORIZED", "CAPTURED"):
            outcome = self._release(order_id, payment["amount"], payment["authorization_id"])
        elif payment.get("status") == "PENDING" and payment.get("authorizations_in_doubt"):
            # An authorization was asked for and its answer never came: the provider may
            # hold money under the order's key.
            held = self.payments.find_authorization(order_id)
            if held is not None:
                outcome = self._settle_held(order_id, payment["amount"], held)
        self.store.note(order_id, "VoidAuthorization", outcome)
        return _result(order_id, outcome)

    def cancel_order(self, state: dict[str, Any]) -> dict[str, Any]:
        """Mark the order FAILED with the cause the Catch recorded."""
        order_id = state["orderId"]
        order = self.store.order(order_id)
        if order is None:
            # ReserveOrder itself failed: there is no row to mark, only the audit trail.
            self.store.note(order_id, "CancelOrder", "nothing")
            return _result(order_id, "nothing")
        if order["fingerprint"] != state["fingerprint"]:
            return _result(order_id, "another request's order: nothing done")
        if self.store.fail(order_id, failure_cause(state)[:1000]) is Failing.CONFIRMED:
            raise ConfirmedOrderKept(
                f"order {order_id} is CONFIRMED and was kept, its payment and customer too; the "
                f"saga failed after the confirmation ({failure_cause(state)}): nothing was "
                "undone, find out why ConfirmOrder's answer was lost"
            )
        # The saga ends here: "failed" for the run that ends it first, "already failed" for a
        # retry or a rerun (what the business counters count once).
        first = not self.store.done(order_id, "CancelOrder")
        self.store.note(order_id, "CancelOrder", "failed")
        return _result(order_id, "failed" if first else "already failed")

    # -- money the provider holds ----------------------------------------------------------

    def _release(self, order_id: str, amount: int, authorization_id: str) -> str:
        """Give back whatever the authorization holds: void it, or refund its capture."""
        held = self.payments.authorization(order_id, authorization_id)
        return self._settle_held(order_id, amount, held)

    def _settle_held(self, order_id: str, amount: int, held: Authorization) -> str:
        if held.status == AUTHORIZED:
            self.payments.void(order_id, held.id)
            self.store.settle(
                order_id,
                {"PENDING", "AUTHORIZED"},
                "VOIDED",
                "PaymentVoided",
                authorization_id=held.id,
            )
            return "voided"
        if held.status in RELEASED:
            # Released already (an earlier void whose answer was lost, or expired).
            self.store.settle(
                order_id,
                {"PENDING", "AUTHORIZED"},
                "VOIDED",
                "PaymentVoided",
                authorization_id=held.id,
            )
            return "voided"
        if held.status in (CAPTURED, REFUNDED):
            return self._refund(order_id, amount, held)
        raise ProviderStateUnexpected(
            f"the provider reports authorization {held.id} of order {order_id} as "
            f"{held.status!r}: check it at the provider"
        )

    def _refund(self, order_id: str, amount: int, held: Authorization) -> str:
        refund = held.refund_id
        if held.status != REFUNDED:
            if held.capture_id is None:
                raise ProviderStateUnexpected(
                    f"the provider reports authorization {held.id} of order {order_id} as "
                    "captured without a capture id: check it at the provider"
                )
            refund = self.payments.refund(order_id, held.capture_id, amount)
        self.store.settle(
            order_id,
            {"PENDING", "AUTHORIZED", "CAPTURED"},
            "REFUNDED",
            "PaymentRefunded",
            authorization_id=held.id,
            capture_id=held.capture_id,
            refund_id=refund,
        )
        return "refunded"
