"""Errors a saga step raises. Step Functions matches them by class name, so names are API.

``TransientError`` is retried with backoff (see ``saga.TRANSIENT_ERRORS``); every
``BusinessError`` goes straight to the compensations.
"""

from __future__ import annotations


class TransientError(Exception):
    """A timeout, a 5xx or a dropped connection: the same call may succeed later."""


class BusinessError(Exception):
    """A refusal that retrying cannot change; the saga compensates."""

    # The HTTP status of the refusal, when a remote service answered one.
    status: int | None = None


class PaymentDeclined(BusinessError):
    """The provider declined the authorization."""


class CaptureRejected(BusinessError):
    """The provider refused to capture an authorization."""


class PaymentRejected(BusinessError):
    """The provider refused a request as invalid (a 4xx other than a decline)."""


class PaymentNotConfigured(BusinessError):
    """The stack names no payment provider, or the provider's API key secret has no value."""


class CustomerRejected(BusinessError):
    """The customer record (or the on-premises CRM) refused the order."""


class ConfirmedOrderKept(Exception):
    """CancelOrder met a CONFIRMED order: nothing is undone, and the execution fails loudly."""


class OrderEnded(BusinessError):
    """The order already ended (FAILED): final, so this execution takes no forward effect.

    A rerun of the saga for an order that ended (after a failover, or once Step Functions
    forgot the execution's name) meets it at ConfirmOrder, and its compensations finish
    whatever the first run left undone.
    """


class ProviderStateUnexpected(Exception):
    """The payment provider reports a state the saga cannot reconcile; a person must look."""


class OrderConflict(BusinessError):
    """An order with this id exists with another request: the key was reused."""
