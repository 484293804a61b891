"""The payment provider's HTTP adapter against a stand-in: what each answer becomes."""

from __future__ import annotations

import pytest

from functions.orders.errors import PaymentDeclined, PaymentNotConfigured, TransientError
from functions.orders.payments import Authorization, HttpPaymentProvider
from tests.integration.orders_harness import serve


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_api_key_is_a_configuration_problem_not_a_card_decline(status: int) -> None:
    # Given a provider that refuses the API key
    with serve(lambda request: (status, {"code": "invalid_api_key"})) as provider:
        payments = HttpPaymentProvider(provider.url, "sk_wrong", timeout_seconds=2)
        # When an authorization is asked for
        with pytest.raises(PaymentNotConfigured) as refused:
            payments.authorize("order-1", 1999, "USD", "tok_visa")
    # Then the order will fail as not configured, naming the key, and not as declined
    assert not isinstance(refused.value, PaymentDeclined)
    assert "API key" in str(refused.value)


def test_a_402_is_still_a_card_decline() -> None:
    # Given a provider that declines the card
    with serve(lambda request: (402, {"code": "card_declined"})) as provider:
        payments = HttpPaymentProvider(provider.url, "sk_test", timeout_seconds=2)
        # When an authorization is asked for / Then it is a decline
        with pytest.raises(PaymentDeclined):
            payments.authorize("order-1", 1999, "USD", "tok_visa")


def test_an_authorization_is_looked_up_without_moving_money() -> None:
    # Given a provider whose authorization was captured
    answer = {"id": "auth_1", "status": "captured", "captureId": "cap_1", "refundId": None}
    with serve(lambda request: (200, answer)) as provider:
        payments = HttpPaymentProvider(provider.url, "sk_test", timeout_seconds=2)
        # When the saga asks what became of it
        held = payments.authorization("order-1", "auth_1")
    # Then it learns its state and capture from a GET, which cannot charge anyone
    assert held == Authorization("auth_1", "captured", "cap_1", None)
    assert [(r.method, r.path) for r in provider.requests] == [("GET", "/v1/authorizations/auth_1")]


def test_an_authorization_whose_answer_was_lost_is_found_by_its_idempotency_key() -> None:
    # Given a provider that made an authorization under the order's authorize key
    answer = {"id": "auth_9", "status": "authorized", "captureId": None}
    with serve(lambda request: (200, answer)) as provider:
        payments = HttpPaymentProvider(provider.url, "sk_test", timeout_seconds=2)
        # When the saga looks for it by the key alone
        held = payments.find_authorization("order-9")
    # Then it is found with a GET naming the key the authorize call carried
    assert held == Authorization("auth_9", "authorized")
    [request] = provider.requests
    assert (request.method, request.path) == (
        "GET",
        "/v1/authorizations?idempotencyKey=order-9%3Aauthorize",
    )


def test_no_authorization_under_the_key_is_none() -> None:
    # Given a provider that made no authorization under the key
    with serve(lambda request: (404, {"code": "not_found"})) as provider:
        payments = HttpPaymentProvider(provider.url, "sk_test", timeout_seconds=2)
        # When the saga looks for it / Then there is none: nothing is held
        assert payments.find_authorization("order-9") is None


@pytest.mark.parametrize("answer", [{}, {"id": ""}, {"status": "authorized"}])
def test_an_answer_without_an_id_is_retried_not_taken_as_a_refusal(answer: dict) -> None:
    # Given a provider whose answer to an authorization carries no id
    with serve(lambda request: (201, answer)) as provider:
        payments = HttpPaymentProvider(provider.url, "sk_test", timeout_seconds=2)
        # When the saga authorizes / Then it is transient: the same key is sent again
        with pytest.raises(TransientError):
            payments.authorize("order-1", 1999, "USD", "tok_visa")
