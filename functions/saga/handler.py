"""Lambda: one handler per saga action (``functions.saga.handler.<action>``).

Environment: ``SagaSettings`` in :mod:`functions.orders.settings` and the database variables
of :mod:`functions.orders.db`. Errors keep their class names (``PaymentDeclined``,
``TransientError``, ...) because the state machine's Retry and Catch match on them; a lost
database connection becomes ``TransientError`` so that it is retried.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
import pg8000.exceptions
from aws_lambda_powertools.logging import Logger

from functions.orders.aws import EventBridgeDomainEvents, SecretsManagerApiKey
from functions.orders.crm import HttpCrm
from functions.orders.db import Database, database_from_env
from functions.orders.errors import TransientError
from functions.orders.payments import (
    HttpPaymentProvider,
    PaymentProvider,
    UnconfiguredPaymentProvider,
)
from functions.orders.settings import SagaSettings
from functions.orders.steps import CheckoutSteps
from functions.orders.store import PostgresOrderStore

logger = Logger(service="checkout-saga")
# SQLSTATEs worth a retry: serialization failure, deadlock, too many connections, shutdown.
_TRANSIENT_SQLSTATES = {"40001", "40P01", "53300", "57P01", "57P02", "57P03"}


@cache
def database() -> Database:
    """The container's database connection (opened on first use)."""
    return database_from_env()


@cache
def steps() -> CheckoutSteps:
    """The steps with their adapters, built once per container."""
    settings = SagaSettings.from_env()
    session = boto3.session.Session(region_name=settings.region)
    crm = HttpCrm(settings.crm_url, settings.crm_timeout_seconds) if settings.crm_url else None
    return CheckoutSteps(
        store=PostgresOrderStore(database()),
        payments=payment_provider(settings, session),
        events=EventBridgeDomainEvents(session.client("events"), settings.event_bus_name),
        crm=crm,
    )


def payment_provider(settings: SagaSettings, session: Any) -> PaymentProvider:
    """The configured provider, its key read on first use; a refusing one when none is set."""
    if settings.payment_base_url is None:
        return UnconfiguredPaymentProvider()
    api_key: str | Callable[[], str]
    if settings.payment_api_key is not None:
        api_key = settings.payment_api_key
    else:
        assert settings.payment_api_key_secret_arn is not None  # SagaSettings checks one is set
        api_key = SecretsManagerApiKey(
            session.client("secretsmanager"), settings.payment_api_key_secret_arn
        )
    return HttpPaymentProvider(settings.payment_base_url, api_key, settings.payment_timeout_seconds)


def _run(
    action: Callable[[CheckoutSteps, dict[str, Any]], dict[str, Any]], event: dict[str, Any]
) -> dict[str, Any]:
    try:
        return action(steps(), event)
    except pg8000.exceptions.InterfaceError as exc:
        # The connection broke (Aurora failover, idle timeout): reconnect on the retry.
        database().close()
        raise TransientError(f"database connection lost: {exc}") from exc
    except pg8000.exceptions.DatabaseError as exc:
        code = exc.args[0].get("C") if exc.args and isinstance(exc.args[0], dict) else None
        if code in _TRANSIENT_SQLSTATES:
            raise TransientError(f"database busy ({code})") from exc
        raise
    finally:
        logger.info(
            "saga action ran", extra={"orderId": event.get("orderId"), "action": action.__name__}
        )


def reserve_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """ReserveOrder."""
    return _run(CheckoutSteps.reserve_order, event)


def authorize_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """AuthorizePayment."""
    return _run(CheckoutSteps.authorize_payment, event)


def capture_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CapturePayment."""
    return _run(CheckoutSteps.capture_payment, event)


def update_customer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """UpdateCustomer."""
    return _run(CheckoutSteps.update_customer, event)


def confirm_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """ConfirmOrder."""
    return _run(CheckoutSteps.confirm_order, event)


def revert_customer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """RevertCustomer (compensates UpdateCustomer)."""
    return _run(CheckoutSteps.revert_customer, event)


def refund_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """RefundPayment (compensates CapturePayment)."""
    return _run(CheckoutSteps.refund_payment, event)


def void_authorization(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """VoidAuthorization (compensates AuthorizePayment)."""
    return _run(CheckoutSteps.void_authorization, event)


def cancel_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CancelOrder (compensates ReserveOrder): the order ends FAILED with its cause."""
    return _run(CheckoutSteps.cancel_order, event)
