"""Lambda: project domain events into the order views of the global table.

Delivery: an EventBridge rule on the regional bus (source ``active-active.orders``) targets an
SQS queue with a dead-letter queue; this function consumes the queue with
``ReportBatchItemFailures``, so one bad message is retried alone. Each event names an order;
the projector reads the order's rows from Aurora (the events carry no state, so a late or
duplicated event cannot bring old data) and writes the order view and the customer's
order-list item, each conditional on ``version``.

Environment: ``ProjectorSettings`` in :mod:`functions.orders.settings` and the database
variables of :mod:`functions.orders.db`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions import correlation, synthetic
from functions.observability import observed, service_logger, service_tracer
from functions.orders import read_model
from functions.orders.aws import DynamoViewWriter
from functions.orders.db import Database, database_from_env
from functions.orders.projection import Snapshot, iso_utc
from functions.orders.settings import ProjectorSettings
from functions.orders.store import load_snapshot

logger = service_logger("projector")
tracer = service_tracer("projector")


@cache
def database() -> Database:
    """The container's database connection."""
    return database_from_env()


@cache
def writer() -> DynamoViewWriter:
    """The view writer for this region's replica of the global table."""
    settings = ProjectorSettings.from_env()
    return DynamoViewWriter(
        boto3.client("dynamodb", region_name=settings.region), settings.table_name
    )


def project(snapshot: Snapshot, views: DynamoViewWriter, correlation_id: str | None = None) -> bool:
    """Write the order view and the order-list item; False when the table already had newer.

    The view item keeps the fingerprint and the correlation id of the event being projected
    beside the view (read_model.FINGERPRINT_ATTRIBUTE, CORRELATION_ATTRIBUTE).
    """
    view = snapshot.view()
    extra = {read_model.FINGERPRINT_ATTRIBUTE: snapshot.fingerprint} if snapshot.fingerprint else {}
    if correlation_id is not None:
        extra[read_model.CORRELATION_ATTRIBUTE] = correlation_id
    expires_at = None
    if snapshot.customer_id == synthetic.CUSTOMER_ID:
        # The write canary's orders leave the table a week after they were placed.
        expires_at = int(snapshot.created_at.timestamp()) + synthetic.RETENTION_SECONDS
    wrote = views.put_if_newer(
        read_model.order_key(snapshot.order_id), view, snapshot.version, extra, expires_at
    )
    views.put_if_newer(
        read_model.customer_order_key(
            snapshot.customer_id, iso_utc(snapshot.created_at), snapshot.order_id
        ),
        view,
        snapshot.version,
        expires_at=expires_at,
    )
    return wrote


def project_order(order_id: str, correlation_id: str | None = None) -> bool:
    """Project one order from the database; False when it does not exist or was not newer."""
    snapshot = load_snapshot(database(), order_id)
    if snapshot is None:
        logger.warning("event for an unknown order", extra={"orderId": order_id})
        return False
    return project(snapshot, writer(), correlation_id)


def _detail(record: SQSRecord) -> dict[str, Any]:
    # The SQS message body is the EventBridge event the projection rule delivered.
    return dict(json.loads(record.body)["detail"])


# A batch whose every record failed answers like a partial one, each record reported: the
# queue retries exactly those, as ReportBatchItemFailures asks, with no invocation error.
_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@observed(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Project every record of the SQS batch; report the ones that failed."""
    request_id = correlation.current()

    def project_record(record: SQSRecord) -> None:
        try:
            detail = _detail(record)
            # Each event carries the correlation id of the request that caused it.
            caused_by = correlation.bind(detail.get(correlation.FIELD))
            logger.set_correlation_id(caused_by or request_id)
            project_order(str(detail["orderId"]), caused_by)
        except Exception:
            logger.exception("projection failed", extra={"messageId": record.message_id})
            # The connection may be broken mid-transaction: the next record opens a fresh one.
            database().close()
            raise  # the processor reports the record failed

    return dict(
        process_partial_response(
            event=event, record_handler=project_record, processor=_processor, context=context
        )
    )
