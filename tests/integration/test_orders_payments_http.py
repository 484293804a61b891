"""The payment provider's HTTP adapter against a stand-in: what each answer becomes."""

from __future__ import annotations

import pytest

from functions.orders.errors import PaymentDeclined, PaymentNotConfigured
from functions.orders.payments import HttpPaymentProvider
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


def test_the_capture_of_an_authorization_is_looked_up_without_moving_money() -> None:
    # Given a provider whose authorization was captured
    answer = {"id": "auth_1", "status": "captured", "captureId": "cap_1"}
    with serve(lambda request: (200, answer)) as provider:
        payments = HttpPaymentProvider(provider.url, "sk_test", timeout_seconds=2)
        # When the saga asks whether it was captured
        capture = payments.find_capture("order-1", "auth_1")
    # Then it learns the capture id from a GET, which cannot charge anyone
    assert capture == "cap_1"
    assert [(r.method, r.path) for r in provider.requests] == [("GET", "/v1/authorizations/auth_1")]
