"""Lambda: one handler per saga action (``functions.saga.handler.<action>``).

Environment: ``SagaSettings`` in :mod:`functions.orders.settings` and the database variables
of :mod:`functions.orders.db`. Errors keep their class names (``PaymentDeclined``,
``TransientError``, ...) because the state machine's Retry and Catch match on them; a lost
database connection becomes ``TransientError`` so that it is retried. After each action the
order's events waiting in the outbox are published (best effort; the scheduled drainer
publishes what the bus did not take then).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
import pg8000.exceptions

from functions import business_metrics, synthetic
from functions.observability import SAGA_INPUT, count, observed, service_logger, service_tracer
from functions.orders.aws import EventBridgeDomainEvents, SecretsManagerApiKey
from functions.orders.crm import HttpCrm
from functions.orders.db import Database, database_from_env
from functions.orders.errors import TransientError
from functions.orders.outbox import EventBatchPublisher, drain
from functions.orders.payments import (
    HttpPaymentProvider,
    NoChargeProvider,
    PaymentProvider,
    UnconfiguredPaymentProvider,
)
from functions.orders.settings import SagaSettings
from functions.orders.steps import CheckoutSteps
from functions.orders.store import PostgresOrderStore, PostgresOutbox

logger = service_logger("checkout-saga")
tracer = service_tracer("checkout-saga")
# What a step's outcome means for the business counters, counted by the run that decided it.
_COUNTED = {
    ("reserve_order", "reserved"): business_metrics.ORDERS_PLACED,
    ("confirm_order", "applied"): business_metrics.ORDERS_CONFIRMED,
    ("cancel_order", "failed"): business_metrics.ORDERS_FAILED,
}
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
        crm=crm,
    )


@cache
def synthetic_steps() -> CheckoutSteps:
    """The steps of a synthetic order (functions/synthetic.py): no provider, no CRM."""
    store = PostgresOrderStore(database())
    return CheckoutSteps(store=store, payments=NoChargeProvider(store.payment))


def steps_for(event: dict[str, Any]) -> CheckoutSteps:
    """The steps for this saga's order: a synthetic one charges no one and tells no CRM."""
    return synthetic_steps() if event.get(synthetic.FIELD) is True else steps()


@cache
def publisher() -> EventBatchPublisher:
    """The bus the outbox's events go to, built once per container."""
    settings = SagaSettings.from_env()
    client = boto3.session.Session(region_name=settings.region).client("events")
    return EventBridgeDomainEvents(client, settings.event_bus_name)


def publish_events(order_id: str) -> None:
    """Publish the order's events waiting in the outbox, now that the step has committed.

    Best effort: the step's outcome is already decided and committed, so nothing here may
    fail it; what the bus does not take waits for the scheduled drainer.
    """
    try:
        drained = drain(PostgresOutbox(database()), publisher(), order_id=order_id, max_batches=2)
    except Exception as exc:
        database().close()
        logger.warning(
            "events left in the outbox", extra={"orderId": order_id, "reason": repr(exc)}
        )
        return
    if drained.error is not None:
        logger.warning(
            "events left in the outbox", extra={"orderId": order_id, "reason": drained.error}
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
    result: dict[str, Any] = {}
    try:
        result = action(steps_for(event), event)
        ended = _COUNTED.get((action.__name__, str(result.get("outcome"))))
        # The canary's orders prove the path works; they are no business to count.
        if ended is not None and event.get(synthetic.FIELD) is not True:
            count(ended)
        return result
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
        order_id = event.get("orderId")
        logger.info(
            "saga action ran",
            extra={"orderId": order_id, "action": action.__name__, **result},
        )
        # Whatever the action's outcome, what it committed is published (a decline too).
        if isinstance(order_id, str):
            publish_events(order_id)


@observed(logger, tracer, SAGA_INPUT, emits_metrics=True)
def reserve_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """ReserveOrder."""
    return _run(CheckoutSteps.reserve_order, event)


@observed(logger, tracer, SAGA_INPUT, emits_metrics=True)
def authorize_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """AuthorizePayment."""
    return _run(CheckoutSteps.authorize_payment, event)


@observed(logger, tracer, SAGA_INPUT, emits_metrics=True)
def capture_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CapturePayment."""
    return _run(CheckoutSteps.capture_payment, event)


@observed(logger, tracer, SAGA_INPUT, emits_metrics=True)
def update_customer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """UpdateCustomer."""
    return _run(CheckoutSteps.update_customer, event)


@observed(logger, tracer, SAGA_INPUT, emits_metrics=True)
def confirm_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """ConfirmOrder."""
    return _run(CheckoutSteps.confirm_order, event)


@observed(logger, tracer, SAGA_INPUT, emits_metrics=True)
def revert_customer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """RevertCustomer (compensates UpdateCustomer)."""
    return _run(CheckoutSteps.revert_customer, event)


@observed(logger, tracer, SAGA_INPUT, emits_metrics=True)
def refund_payment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """RefundPayment (compensates CapturePayment)."""
    return _run(CheckoutSteps.refund_payment, event)


@observed(logger, tracer, SAGA_INPUT, emits_metrics=True)
def void_authorization(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """VoidAuthorization (compensates AuthorizePayment)."""
    return _run(CheckoutSteps.void_authorization, event)


@observed(logger, tracer, SAGA_INPUT, emits_metrics=True)
def cancel_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CancelOrder (compensates ReserveOrder): the order ends FAILED with its cause."""
    return _run(CheckoutSteps.cancel_order, event)
