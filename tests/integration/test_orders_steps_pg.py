"""The saga's steps on real PostgreSQL with a provider in memory: races a state machine cannot
stage on demand, such as a provider call that lands after the compensations marked the order
FAILED, or a doubt about an authorization that only the provider can settle."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.orders.db import Database, DatabaseSettings
from functions.orders.errors import PaymentNotConfigured, TransientError
from functions.orders.migrations import migrate
from functions.orders.payments import Authorization
from functions.orders.steps import CheckoutSteps
from functions.orders.store import PostgresOrderStore

pytestmark = pytest.mark.postgres
ORDER = "o-1"
REQUEST = {
    "customerId": "c-1",
    "currency": "EUR",
    "items": [{"sku": "A", "quantity": 2, "unitPrice": 500}],
    "payment": {"token": "tok"},
}
STATE = {"orderId": ORDER, "fingerprint": "f", "total": 1000, "request": REQUEST}


@dataclass
class MemoryProvider:
    """A provider in memory; ``during`` runs inside a call, as if concurrently with it."""

    held: dict[str, Authorization] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    during: Callable[[], None] = lambda: None
    authorize_error: Exception | None = None

    def authorize(self, order_id: str, amount: int, currency: str, token: str) -> str:
        self.calls.append("authorize")
        self.during()
        if self.authorize_error is not None:
            raise self.authorize_error
        self.held["auth_1"] = Authorization("auth_1", "authorized")
        return "auth_1"

    def capture(self, order_id: str, authorization_id: str, amount: int) -> str:
        self.calls.append("capture")
        self.during()
        self.held[authorization_id] = Authorization(authorization_id, "captured", "cap_1")
        return "cap_1"

    def authorization(self, order_id: str, authorization_id: str) -> Authorization:
        self.calls.append("get")
        return self.held[authorization_id]

    def find_authorization(self, order_id: str) -> Authorization | None:
        self.calls.append("find")
        return next(iter(self.held.values()), None)

    def void(self, order_id: str, authorization_id: str) -> None:
        self.calls.append("void")
        self.held[authorization_id] = Authorization(authorization_id, "voided")

    def refund(self, order_id: str, capture_id: str, amount: int) -> str:
        self.calls.append("refund")
        auth = next(a for a in self.held.values() if a.capture_id == capture_id)
        self.held[auth.id] = Authorization(auth.id, "refunded", capture_id, "ref_1")
        return "ref_1"


@pytest.fixture
def store(postgres_dsn: str) -> Iterator[PostgresOrderStore]:
    db = Database(DatabaseSettings.from_env({"DATABASE_URL": postgres_dsn}))
    migrate(db)
    store = PostgresOrderStore(db)
    store.reserve(ORDER, "f", REQUEST, 1000)
    yield store
    db.close()


def payment(store: PostgresOrderStore) -> dict[str, Any]:
    return store.payment(ORDER) or {}


def compensated(state: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**(state or STATE), "error": {"Error": "TransientError", "Cause": "{}"}}


def test_an_authorization_that_lands_after_the_order_failed_is_voided_at_once(
    store: PostgresOrderStore,
) -> None:
    # Given a provider that authorizes while the compensations mark the order FAILED
    provider = MemoryProvider()
    provider.during = lambda: store.fail(ORDER, "TransientError: timed out")
    steps = CheckoutSteps(store, provider)
    # When the late AuthorizePayment gets its answer
    result = steps.authorize_payment(STATE)
    # Then it releases the authorization itself, as no compensation will run for it
    assert result["outcome"] == "voided"
    assert provider.held["auth_1"].status == "voided"
    assert (payment(store)["status"], payment(store)["authorization_id"]) == ("VOIDED", "auth_1")
    assert (store.order(ORDER) or {})["status"] == "FAILED"


def test_a_capture_that_lands_after_the_order_failed_is_refunded_at_once(
    store: PostgresOrderStore,
) -> None:
    # Given an authorized order, and a capture that lands while the order is marked FAILED
    provider = MemoryProvider()
    steps = CheckoutSteps(store, provider)
    steps.authorize_payment(STATE)
    provider.during = lambda: store.fail(ORDER, "TransientError: timed out")
    # When the late CapturePayment gets its answer
    result = steps.capture_payment(STATE)
    # Then the money goes back at once
    assert result["outcome"] == "refunded"
    assert provider.held["auth_1"].status == "refunded"
    assert payment(store)["status"] == "REFUNDED"


def test_an_authorization_refused_for_the_api_key_leaves_nothing_to_look_up(
    store: PostgresOrderStore,
) -> None:
    # Given a provider that refuses the API key: nothing can have been authorized
    provider = MemoryProvider(authorize_error=PaymentNotConfigured("refused the API key"))
    steps = CheckoutSteps(store, provider)
    with pytest.raises(PaymentNotConfigured):
        steps.authorize_payment(STATE)
    # When VoidAuthorization runs
    result = steps.void_authorization(compensated())
    # Then it asks the provider nothing (it could not answer either) and the order failed
    assert result["outcome"] == "nothing"
    assert provider.calls == ["authorize"]
    assert payment(store)["authorizations_in_doubt"] == 0


def test_a_timeout_keeps_the_doubt_even_when_a_later_attempt_is_refused(
    store: PostgresOrderStore,
) -> None:
    # Given an authorization that timed out (made, its answer lost), then a refused retry
    provider = MemoryProvider(authorize_error=TransientError("timed out"))
    steps = CheckoutSteps(store, provider)
    with pytest.raises(TransientError):
        steps.authorize_payment(STATE)
    provider.held["auth_1"] = Authorization("auth_1", "authorized")
    provider.authorize_error = PaymentNotConfigured("key rotated")
    with pytest.raises(PaymentNotConfigured):
        steps.authorize_payment(STATE)
    # When VoidAuthorization runs
    result = steps.void_authorization(compensated())
    # Then it found the authorization the first attempt made, by its key, and voided it
    assert result["outcome"] == "voided"
    assert provider.calls[-2:] == ["find", "void"]
    assert provider.held["auth_1"].status == "voided" and payment(store)["status"] == "VOIDED"


def test_a_compensation_of_another_requests_execution_touches_nothing(
    store: PostgresOrderStore,
) -> None:
    # Given the order of one request, and the execution of another request with its key
    provider = MemoryProvider()
    steps = CheckoutSteps(store, provider)
    other = compensated({**STATE, "fingerprint": "another body"})
    # When that execution's compensations run
    for compensation in (
        steps.revert_customer,
        steps.refund_payment,
        steps.void_authorization,
        steps.cancel_order,
    ):
        compensation(other)
    # Then the order is as it was, its audit trail too, and the provider was not asked
    assert (store.order(ORDER) or {})["status"] == "PENDING"
    assert not store.done(ORDER, "CancelOrder") and provider.calls == []
