"""The payment provider port, and its HTTP adapter.

Provider API (what the adapter calls; the test stand-in serves the same):

- ``POST /v1/authorizations`` ``{amount, currency, token, reference}`` -> ``{id}``; 402 declined
- ``POST /v1/authorizations/{id}/capture`` ``{amount}`` -> ``{id}`` (the capture id)
- ``GET /v1/authorizations/{id}`` -> ``{id, status, captureId, refundId}``: ``status`` is
  ``authorized``, ``captured``, ``voided``, ``refunded`` (or ``declined``, ``expired``);
  ``captureId`` and ``refundId`` the capture and refund made on it, or null. How a saga learns
  what a call whose answer it lost did
- ``GET /v1/authorizations?idempotencyKey=<key>`` -> the same, for the authorization an
  ``authorize`` with that key made; 404 when none was made. How a saga finds an authorization
  whose answer never reached it
- ``POST /v1/authorizations/{id}/void`` -> ``{}``
- ``POST /v1/captures/{id}/refunds`` ``{amount}`` -> ``{id}``

Every call carries ``Authorization: Bearer <key>`` and an ``Idempotency-Key`` derived from the
order id and the operation, so a retried step never charges twice. A 401 or 403 means the
provider refused the API key: ``PaymentNotConfigured``, never a decline.

A stack without ``payments.baseUrl`` gets ``UnconfiguredPaymentProvider``: orders are still
reserved, and each then fails at AuthorizePayment with ``PaymentNotConfigured``, a cause the
order keeps, instead of timing out against a provider that does not exist.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from functions.orders.errors import (
    BusinessError,
    CaptureRejected,
    PaymentDeclined,
    PaymentNotConfigured,
    PaymentRejected,
    TransientError,
)
from functions.outbound import Transport, Unreachable

# What an authorization can be at the provider: holding money, captured, refunded, or one of
# the RELEASED states, which hold none.
AUTHORIZED, CAPTURED, REFUNDED = "authorized", "captured", "refunded"
RELEASED = frozenset({"voided", "declined", "expired"})


@dataclass(frozen=True)
class Authorization:
    """An authorization as the provider holds it: the truth when the saga's record is unsure."""

    id: str
    status: str
    capture_id: str | None = None
    refund_id: str | None = None


def authorize_key(order_id: str) -> str:
    """The Idempotency-Key of an order's authorization: what finds it again at the provider."""
    return f"{order_id}:authorize"


class PaymentProvider(Protocol):
    """Authorize, capture, void and refund; each call idempotent on ``order_id``."""

    def authorize(self, order_id: str, amount: int, currency: str, token: str) -> str:
        """Authorize ``amount``; return the authorization id; PaymentDeclined if declined."""
        ...

    def capture(self, order_id: str, authorization_id: str, amount: int) -> str:
        """Capture an authorization; return the capture id; CaptureRejected if refused."""
        ...

    def authorization(self, order_id: str, authorization_id: str) -> Authorization:
        """The authorization as the provider holds it now; moves no money."""
        ...

    def find_authorization(self, order_id: str) -> Authorization | None:
        """The authorization made under the order's authorize key, or None; moves no money."""
        ...

    def void(self, order_id: str, authorization_id: str) -> None:
        """Release an authorization that will not be captured."""
        ...

    def refund(self, order_id: str, capture_id: str, amount: int) -> str:
        """Refund a capture; return the refund id."""
        ...


def post_json(
    transport: Transport,
    url: str,
    payload: dict[str, Any] | None,
    headers: dict[str, str],
    business_error: type[BusinessError],
    *,
    refused_credentials: type[BusinessError] | None = None,
    method: str = "POST",
) -> dict[str, Any]:
    """Send JSON (``payload`` None: no body, for a GET) and return the JSON answer.

    5xx, 408, 429, no answer and an answer that is not JSON are transient; a 401 or 403
    raises ``refused_credentials`` when given (a deploy problem, not the request's); any
    other status that is not 2xx ``business_error``, with the status on it.
    """
    try:
        if payload is None:
            answer = transport.send(method, url, None, headers)
        else:
            answer = transport.post_json(url, payload, headers)
    except Unreachable as exc:
        raise TransientError(str(exc)) from exc
    if answer.retryable:
        raise TransientError(f"{url} answered {answer.status}")
    if refused_credentials is not None and answer.status in (401, 403):
        raise refused_credentials(
            f"{url} refused the API key ({answer.status}): check the payment API key secret"
        )
    if not 200 <= answer.status < 300:
        detail = answer.body[:500].decode(errors="replace")
        refusal = business_error(f"{url} answered {answer.status}: {detail}")
        refusal.status = answer.status
        raise refusal
    try:
        value = answer.json()
    except ValueError as exc:
        raise TransientError(f"{url} answered something that is not JSON") from exc
    return value if isinstance(value, dict) else {}


# The stack config key that names the provider: what an operator has to set.
PAYMENTS_CONFIG_KEY = "active-active:payments.baseUrl"


class UnconfiguredPaymentProvider:
    """Stands in while the stack names no provider: every call fails with PaymentNotConfigured.

    A business error, not a transient one: retrying cannot configure the provider, so the
    saga goes straight to its compensations and the order ends FAILED with this cause.
    """

    def _refuse(self) -> NoReturn:
        raise PaymentNotConfigured(
            f"no payment provider is configured: set {PAYMENTS_CONFIG_KEY} in the stack file "
            "and the payment API key secret's value, then deploy"
        )

    def authorize(self, order_id: str, amount: int, currency: str, token: str) -> str:
        """Refuse: there is no provider to authorize with."""
        self._refuse()

    def capture(self, order_id: str, authorization_id: str, amount: int) -> str:
        """Refuse: there is no provider to capture with."""
        self._refuse()

    def authorization(self, order_id: str, authorization_id: str) -> Authorization:
        """Refuse: there is no provider to ask."""
        self._refuse()

    def find_authorization(self, order_id: str) -> Authorization | None:
        """None: without a provider no authorization can have been made."""
        return None

    def void(self, order_id: str, authorization_id: str) -> None:
        """Refuse: there is no provider to void with."""
        self._refuse()

    def refund(self, order_id: str, capture_id: str, amount: int) -> str:
        """Refuse: there is no provider to refund with."""
        self._refuse()


class NoChargeProvider:
    """The provider of synthetic orders (:mod:`functions.synthetic`): no call, no money.

    Every id is made up from the order id, so a rerun gets the same one. Asked what it holds,
    it answers what the order's payment record says it did (authorized, captured, refunded),
    as a real provider would: so a synthetic order that fails after its capture is refunded
    by its compensations like any other, and no FAILED order is left "holding money".
    """

    def __init__(self, recorded: Callable[[str], Mapping[str, Any] | None]) -> None:
        self._recorded = recorded  # the order's payment row (OrderStore.payment)

    def authorize(self, order_id: str, amount: int, currency: str, token: str) -> str:
        """An authorization id of the order's own; no provider is called."""
        return f"synthetic-auth-{order_id}"

    def capture(self, order_id: str, authorization_id: str, amount: int) -> str:
        """A capture id of the order's own; no provider is called."""
        return f"synthetic-capture-{order_id}"

    def authorization(self, order_id: str, authorization_id: str) -> Authorization:
        """What the payment record says this made-up authorization became."""
        payment = self._recorded(order_id) or {}
        status = {"AUTHORIZED": AUTHORIZED, "CAPTURED": CAPTURED, "REFUNDED": REFUNDED}.get(
            str(payment.get("status")), "voided"
        )
        return Authorization(
            authorization_id, status, payment.get("capture_id"), payment.get("refund_id")
        )

    def find_authorization(self, order_id: str) -> Authorization | None:
        """None: an authorization whose answer was lost was never made."""
        return None

    def void(self, order_id: str, authorization_id: str) -> None:
        """Nothing to release."""

    def refund(self, order_id: str, capture_id: str, amount: int) -> str:
        """A refund id of the order's own; nothing was captured."""
        return f"synthetic-refund-{order_id}"


class HttpPaymentProvider:
    """The payment provider over HTTPS with an API key.

    ``api_key`` may be a function that fetches the key: it is called on the first provider
    call only, so the saga's other steps run (and compensate) even when the key is missing.
    """

    def __init__(
        self, base_url: str, api_key: str | Callable[[], str], timeout_seconds: float = 5.0
    ):
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._transport = Transport(timeout_seconds)

    def _api_key(self) -> str:
        if callable(self._key):
            self._key = self._key()
        return self._key

    def _call(
        self,
        path: str,
        payload: dict[str, Any] | None,
        idempotency_key: str | None,
        business_error: type[BusinessError] = PaymentRejected,
        method: str = "POST",
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {self._api_key()}"}
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        return post_json(
            self._transport,
            self._base + path,
            payload,
            headers,
            business_error,
            refused_credentials=PaymentNotConfigured,
            method=method,
        )

    def authorize(self, order_id: str, amount: int, currency: str, token: str) -> str:
        """Authorize ``amount``; a 4xx other than 401/403 is a decline."""
        answer = self._call(
            "/v1/authorizations",
            {"amount": amount, "currency": currency, "token": token, "reference": order_id},
            authorize_key(order_id),
            PaymentDeclined,
        )
        return _id(answer, "authorization")

    def capture(self, order_id: str, authorization_id: str, amount: int) -> str:
        """Capture; a 4xx is a rejection."""
        answer = self._call(
            f"/v1/authorizations/{authorization_id}/capture",
            {"amount": amount},
            f"{order_id}:capture",
            CaptureRejected,
        )
        return _id(answer, "capture")

    def authorization(self, order_id: str, authorization_id: str) -> Authorization:
        """Ask the provider what became of the authorization (a GET: no money moves)."""
        path = f"/v1/authorizations/{urllib.parse.quote(authorization_id, safe='')}"
        return _authorization(self._call(path, None, None, method="GET"))

    def find_authorization(self, order_id: str) -> Authorization | None:
        """Ask the provider for the authorization the order's authorize key made, if any."""
        query = urllib.parse.urlencode({"idempotencyKey": authorize_key(order_id)})
        try:
            answer = self._call(f"/v1/authorizations?{query}", None, None, method="GET")
        except PaymentRejected as refused:
            if refused.status == 404:
                return None
            raise
        return _authorization(answer)

    def void(self, order_id: str, authorization_id: str) -> None:
        """Void the authorization."""
        self._call(f"/v1/authorizations/{authorization_id}/void", {}, f"{order_id}:void")

    def refund(self, order_id: str, capture_id: str, amount: int) -> str:
        """Refund the capture in full."""
        answer = self._call(
            f"/v1/captures/{capture_id}/refunds", {"amount": amount}, f"{order_id}:refund"
        )
        return _id(answer, "refund")


def _id(answer: dict[str, Any], what: str) -> str:
    value = answer.get("id")
    if not isinstance(value, str) or not value:
        # The call may have taken effect: retried (same key), never taken as a refusal.
        raise TransientError(f"the provider's {what} answer has no id: {str(answer)[:200]}")
    return value


def _authorization(answer: dict[str, Any]) -> Authorization:
    status, auth_id = answer.get("status"), answer.get("id")
    if not isinstance(status, str) or not isinstance(auth_id, str):
        raise TransientError(f"the provider's authorization is unreadable: {str(answer)[:200]}")
    capture, refund = answer.get("captureId"), answer.get("refundId")
    return Authorization(
        auth_id, status, str(capture) if capture else None, str(refund) if refund else None
    )
