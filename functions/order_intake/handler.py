"""Lambda (the home region, async mode): take each OrderRequested where the primary is now.

Delivery: a secondary's bus forwards OrderRequested to the home region's bus, whose rule
targets an SQS queue (with a DLQ) consumed here with ``ReportBatchItemFailures``. Each request
is validated again (the bus is not trusted more than the API), then the control record says
where it goes (:func:`functions.order_intake.intake.take`):

- it names this region, mode ``normal``: the saga starts here with the write API's own code
  (``write.begin_saga``);
- it names another region with a ``writeUrl`` (after a failover): the request is forwarded
  synchronously, as a secondary's write API does, SigV4-signed to that ``POST
  /internal/orders`` with the same Idempotency-Key; 202 is done;
- a key reused with another body (409), or a request the primary refuses (400), cannot be
  answered to anyone any more: logged and dropped, as is a request POST /orders would refuse
  (the same validation, key included) and a message that is not an EventBridge event;
- no control record at all: no failover has ever happened, so this (home) region writes;
- read-only, an unreadable control record, no ``writeUrl``, a 5xx or unreachable primary: the record is reported failed, so SQS delivers it again and, after the queue's
  maximum receives, moves it to the dead-letter queue (alarmed). Never dropped.

Environment (:class:`functions.orders.settings.IntakeSettings`): ``AWS_REGION``,
``TABLE_NAME`` (the global table holding the control record), ``STATE_MACHINE_ARN``, and
optionally ``CONTROL_CACHE_SECONDS`` (at most 10, default 10) and ``FORWARD_TIMEOUT_SECONDS``
(default 3).
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions import correlation
from functions.observability import observed, record_ms, service_logger, service_tracer
from functions.order_intake.intake import (
    BatchForwarder,
    IntakeDeps,
    Outcome,
    RetryLater,
    Taken,
    take,
)
from functions.orders.aws import (
    CachedControlSource,
    DynamoControlSource,
    DynamoKnownOrders,
    SigV4Forwarder,
    StepFunctionsSagaStarter,
)
from functions.orders.instrumented import TimedForwarder
from functions.orders.ports import ControlRecord, Mode
from functions.orders.settings import IntakeSettings

logger = service_logger("order-intake")
tracer = service_tracer("order-intake")

_DROPPED = {
    Taken.INVALID: "dropping an invalid OrderRequested",
    Taken.CONFLICT: "idempotency key reused with another body",
    Taken.REFUSED: "the primary refused the forwarded OrderRequested",
}


@cache
def dependencies() -> IntakeDeps:
    """The handler's adapters, built once per container from the environment."""
    settings = IntakeSettings.from_env()
    session = boto3.session.Session(region_name=settings.region)
    dynamodb = session.client("dynamodb")
    return IntakeDeps(
        region=settings.region,
        # No record means no failover has ever happened (`ops failover` and `ops read-only`
        # always write one): the home region, where intake runs, writes. An unreadable
        # record is still retried.
        control=CachedControlSource(
            DynamoControlSource(
                dynamodb,
                settings.table_name,
                ControlRecord(settings.region, None, Mode.NORMAL),
            ),
            settings.control_cache_seconds,
        ),
        saga=StepFunctionsSagaStarter(session.client("stepfunctions"), settings.state_machine_arn),
        forwarder=TimedForwarder(
            SigV4Forwarder(
                session.get_credentials, settings.forward_timeout_seconds, settings.region
            ),
            record_ms,
        ),
        orders=DynamoKnownOrders(dynamodb, settings.table_name),
    )


def _log(outcome: Outcome) -> None:
    extra = {"orderId": outcome.order_id, "outcome": outcome.taken.value}
    if outcome.taken in _DROPPED:
        logger.warning(_DROPPED[outcome.taken], extra={**extra, "reason": outcome.detail})
    else:
        logger.info("OrderRequested taken", extra={**extra, "detail": outcome.detail})


def _detail(record: SQSRecord) -> Any:
    """The EventBridge event's detail in an SQS record; ValueError if there is none."""
    try:
        envelope = json.loads(record.body)
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"the body is not JSON: {type(exc).__name__}") from None
    if not isinstance(envelope, dict) or "detail" not in envelope:
        raise ValueError("the body is not an EventBridge event with a detail")
    return envelope["detail"]


# A batch whose every record failed answers like a partial one, each record reported: the
# queue delivers exactly those again, as ReportBatchItemFailures asks, with no invocation error.
_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@observed(logger, tracer, emits_metrics=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Take each record where the primary is; report the records to deliver again."""
    deps = dependencies()
    batch = replace(deps, forwarder=BatchForwarder(deps.forwarder))
    request_id = correlation.current()

    def take_record(record: SQSRecord) -> None:
        correlation.bind(request_id)
        logger.set_correlation_id(request_id)
        try:
            detail = _detail(record)
        except ValueError as exc:
            # Not an event the bus could have delivered: no retry makes it one.
            logger.warning(
                "dropping a message that is not an OrderRequested event",
                extra={"messageId": record.message_id, "reason": str(exc)},
            )
            return
        if isinstance(detail, dict):
            # The secondary's write API put its request's correlation id in the event.
            carried = correlation.bind(detail.get(correlation.FIELD)) or request_id
            correlation.bind(carried)
            logger.set_correlation_id(carried)
        try:
            _log(take(detail, batch))
        except RetryLater as exc:
            logger.warning(
                "OrderRequested not taken; it will be delivered again",
                extra={"messageId": record.message_id, "reason": str(exc)},
            )
            raise  # the processor reports the record failed
        except Exception:
            logger.exception("could not take the OrderRequested")
            raise

    return dict(
        process_partial_response(
            event=event, record_handler=take_record, processor=_processor, context=context
        )
    )
