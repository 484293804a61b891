"""Lambda handler on the local replica's stream, reporting partial batch failures.

A record whose delivery fails is retried on its own (with the ones after it on the same
shard); the records before it are not sent again, and within the retried record a channel
that already delivered is skipped (see :class:`IdempotentDeliveries`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions import correlation
from functions.notifier.adapters import AppSyncPublisher, IdempotentDeliveries, WebSocketPusher
from functions.notifier.notify import OrderNotifier, changed_order
from functions.notifier.settings import NotifierSettings
from functions.observability import observed, service_logger, service_tracer
from functions.outbound import Transport
from functions.read_side.connections import ConnectionStore

logger = service_logger("notifier")
tracer = service_tracer("notifier")


class StreamNotifier:
    """Turns a batch of stream records into notifications, one record at a time."""

    def __init__(
        self, notifier: OrderNotifier, on_invocation: Callable[[Any], None] | None = None
    ) -> None:
        self._notifier = notifier
        self._on_invocation = on_invocation  # receives each invocation's Lambda context
        self._processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        self._request_id: str | None = None

    def record(self, record: DynamoDBRecord) -> None:
        """Notify for one record if it changed what clients see."""
        change = record.dynamodb
        if change is None:
            return
        update = changed_order(change.keys or {}, change.new_image, change.old_image)
        if update is None:
            return
        # This record's lines carry the id of the request that caused the change, when known.
        logger.set_correlation_id(correlation.bind(update.correlation_id) or self._request_id)
        delivered = self._notifier.notify(update)
        logger.debug(
            "order update pushed",
            extra={"orderId": update.view["orderId"], "connections": delivered},
        )

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The batch response: ``{"batchItemFailures": [...]}``."""
        if context is not None and self._on_invocation is not None:
            self._on_invocation(context)
        self._request_id = correlation.current()
        return dict(
            process_partial_response(
                event=event, record_handler=self.record, processor=self._processor, context=context
            )
        )


@functools.cache
def build_notifier() -> StreamNotifier:
    """The container's notifier, built once from the environment."""
    settings = NotifierSettings.from_env(os.environ)
    session = boto3.session.Session(region_name=settings.region)
    dynamodb = session.client("dynamodb")
    store = ConnectionStore(dynamodb, settings.connections_table)
    management = session.client("apigatewaymanagementapi", endpoint_url=settings.websocket_endpoint)
    publisher = AppSyncPublisher(
        settings.graphql_url, settings.region, session.get_credentials, Transport(5.0)
    )
    once = IdempotentDeliveries(dynamodb, settings.idempotency_table)
    notifier = OrderNotifier(store, WebSocketPusher(management), publisher, once)
    return StreamNotifier(notifier, on_invocation=once.register_lambda_context)


@observed(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return build_notifier().handle(event, context)
