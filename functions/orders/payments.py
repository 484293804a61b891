"""The payment provider port, and its HTTP adapter.

Provider API (what the adapter calls; the test stand-in serves the same):

- ``POST /v1/authorizations`` ``{amount, currency, token, reference}`` -> ``{id}``; 402 declined
- ``POST /v1/authorizations/{id}/capture`` ``{amount}`` -> ``{id}`` (the capture id)
- ``GET /v1/authorizations/{id}`` -> ``{id, status, captureId}``: ``captureId`` is the capture
  made on it, or null; how a saga learns whether a capture whose answer it lost took effect
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

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, NoReturn, Protocol

from functions.orders.errors import (
    BusinessError,
    CaptureRejected,
    PaymentDeclined,
    PaymentNotConfigured,
    PaymentRejected,
    TransientError,
)


class PaymentProvider(Protocol):
    """Authorize, capture, void and refund; each call idempotent on ``order_id``."""

    def authorize(self, order_id: str, amount: int, currency: str, token: str) -> str:
        """Authorize ``amount``; return the authorization id; PaymentDeclined if declined."""
        ...

    def capture(self, order_id: str, authorization_id: str, amount: int) -> str:
        """Capture an authorization; return the capture id; CaptureRejected if refused."""
        ...

    def find_capture(self, order_id: str, authorization_id: str) -> str | None:
        """The id of the capture made on an authorization, or None when it was not captured."""
        ...

    def void(self, order_id: str, authorization_id: str) -> None:
        """Release an authorization that will not be captured."""
        ...

    def refund(self, order_id: str, capture_id: str, amount: int) -> str:
        """Refund a capture; return the refund id."""
        ...


def post_json(
    url: str,
    payload: dict[str, Any] | None,
    headers: dict[str, str],
    timeout: float,
    business_error: type[BusinessError],
    *,
    refused_credentials: type[BusinessError] | None = None,
    method: str = "POST",
) -> dict[str, Any]:
    """Send JSON (``payload`` None: no body, for a GET) and return the JSON answer.

    5xx, 408, 429, timeouts and connection errors are transient; a 401 or 403 raises
    ``refused_credentials`` when given (a deploy problem, not the request's); other 4xx
    ``business_error``.
    """
    request = urllib.request.Request(
        url,
        data=None if payload is None else json.dumps(payload).encode(),
        method=method,
        headers={"content-type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            raw = answer.read()
    except urllib.error.HTTPError as answer:
        detail = answer.read()[:500].decode(errors="replace")
        if answer.code >= 500 or answer.code in (408, 429):
            raise TransientError(f"{url} answered {answer.code}") from answer
        if refused_credentials is not None and answer.code in (401, 403):
            raise refused_credentials(
                f"{url} refused the API key ({answer.code}): check the payment API key secret"
            ) from answer
        raise business_error(f"{url} answered {answer.code}: {detail}") from answer
    except OSError as exc:  # URLError, timeouts and resets are all OSError
        raise TransientError(f"{url}: {exc}") from exc
    try:
        value = json.loads(raw or b"{}")
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

    def find_capture(self, order_id: str, authorization_id: str) -> str | None:
        """Refuse: there is no provider to ask."""
        self._refuse()

    def void(self, order_id: str, authorization_id: str) -> None:
        """Refuse: there is no provider to void with."""
        self._refuse()

    def refund(self, order_id: str, capture_id: str, amount: int) -> str:
        """Refuse: there is no provider to refund with."""
        self._refuse()


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
        self._timeout = timeout_seconds

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
            self._base + path,
            payload,
            headers,
            self._timeout,
            business_error,
            refused_credentials=PaymentNotConfigured,
            method=method,
        )

    def authorize(self, order_id: str, amount: int, currency: str, token: str) -> str:
        """Authorize ``amount``; a 4xx other than 401/403 is a decline."""
        answer = self._call(
            "/v1/authorizations",
            {"amount": amount, "currency": currency, "token": token, "reference": order_id},
            f"{order_id}:authorize",
            PaymentDeclined,
        )
        return str(answer["id"])

    def capture(self, order_id: str, authorization_id: str, amount: int) -> str:
        """Capture; a 4xx is a rejection."""
        answer = self._call(
            f"/v1/authorizations/{authorization_id}/capture",
            {"amount": amount},
            f"{order_id}:capture",
            CaptureRejected,
        )
        return str(answer["id"])

    def find_capture(self, order_id: str, authorization_id: str) -> str | None:
        """Ask the provider whether the authorization was captured, and by which capture."""
        answer = self._call(f"/v1/authorizations/{authorization_id}", None, None, method="GET")
        capture = answer.get("captureId")
        return str(capture) if capture else None

    def void(self, order_id: str, authorization_id: str) -> None:
        """Void the authorization."""
        self._call(f"/v1/authorizations/{authorization_id}/void", {}, f"{order_id}:void")

    def refund(self, order_id: str, capture_id: str, amount: int) -> str:
        """Refund the capture in full."""
        answer = self._call(
            f"/v1/captures/{capture_id}/refunds", {"amount": amount}, f"{order_id}:refund"
        )
        return str(answer["id"])
