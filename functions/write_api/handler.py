"""Lambda: ``POST /orders`` (public), ``POST /internal/orders`` (IAM, from secondaries) and
``POST /synthetic/orders`` (IAM, the write canary's; see :mod:`functions.synthetic`).

API Gateway HTTP API, payload format 2.0. Environment: see :mod:`functions.orders.settings`
(``WriteApiSettings``). The decisions live in :func:`functions.orders.write.place_order`.
"""

from __future__ import annotations

import base64
import binascii
from functools import cache
from typing import Any

import boto3

from functions import synthetic
from functions.observability import (
    API_GATEWAY,
    observed,
    record_ms,
    service_logger,
    service_tracer,
)
from functions.orders.aws import (
    CachedControlSource,
    DynamoControlSource,
    DynamoKnownOrders,
    EventBridgeOrderRequestPublisher,
    SigV4Forwarder,
    StepFunctionsSagaStarter,
)
from functions.orders.instrumented import TimedForwarder
from functions.orders.ports import ControlRecord, Mode, WritePathMisconfigured
from functions.orders.settings import WriteApiSettings
from functions.orders.write import WriteDeps, error, place_order

INTERNAL_ROUTE = "POST /internal/orders"
INTERNAL_PATH_SUFFIX = "/internal/orders"
logger = service_logger("write-api")
tracer = service_tracer("write-api")


@cache
def dependencies() -> WriteDeps:
    """The handler's adapters, built once per container from the environment."""
    settings = WriteApiSettings.from_env()
    session = boto3.session.Session(region_name=settings.region)
    fallback = None
    if settings.fallback_primary_region:
        fallback = ControlRecord(
            settings.fallback_primary_region, settings.fallback_write_url, Mode.NORMAL
        )
    dynamodb = session.client("dynamodb")
    control = CachedControlSource(
        DynamoControlSource(dynamodb, settings.table_name, fallback),
        settings.control_cache_seconds,
    )
    publisher = None
    if settings.event_bus_name:
        publisher = EventBridgeOrderRequestPublisher(
            session.client("events"), settings.event_bus_name, settings.region
        )
    return WriteDeps(
        region=settings.region,
        control=control,
        saga=StepFunctionsSagaStarter(session.client("stepfunctions"), settings.state_machine_arn),
        forwarder=TimedForwarder(
            SigV4Forwarder(
                session.get_credentials, settings.forward_timeout_seconds, settings.region
            ),
            record_ms,
        ),
        publisher=publisher,
        async_mode=settings.async_mode,
        retry_after_seconds=settings.retry_after_seconds,
        # PRIMARY_REGION is the primary this stack was deployed with, where its bus forwards.
        deployed_primary_region=settings.fallback_primary_region,
        orders=DynamoKnownOrders(dynamodb, settings.table_name),
    )


@observed(logger, tracer, API_GATEWAY, emits_metrics=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Map the API Gateway event to place_order and its Response back."""
    path = str(
        event.get("rawPath") or event.get("requestContext", {}).get("http", {}).get("path", "")
    )
    body: str | bytes | None = event.get("body")
    if event.get("isBase64Encoded") and isinstance(body, str):
        try:
            body = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return error(400, "INVALID_BODY", "the body is not valid base64").to_api_gateway()
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    # Which route API Gateway matched (its route key, never the client's); events without one
    # (older tests, a console test event) fall back to the path.
    route = event.get("routeKey")
    forwarded = route == INTERNAL_ROUTE if route else path.endswith(INTERNAL_PATH_SUFFIX)
    # Both routes that can say "synthetic" take IAM authorization; the public one cannot.
    is_synthetic = route == synthetic.ROUTE or (
        forwarded and str(headers.get(synthetic.HEADER, "")).lower() == "true"
    )
    try:
        response = place_order(
            headers, body, dependencies(), forwarded=forwarded, is_synthetic=is_synthetic
        )
    except WritePathMisconfigured:
        # Not read-only mode: no retry fixes a wrong ARN or a missing permission; an operator
        # must, so this is logged as an error (and counted as a 5xx by API Gateway).
        logger.exception("the write path is misconfigured: fix the deployment")
        return error(
            500, "MISCONFIGURED", "the write path is misconfigured; the write was not accepted"
        ).to_api_gateway()
    logger.info(
        "write answered",
        extra={
            "status": response.status,
            "path": path,
            "orderId": response.body.get("orderId"),
            "synthetic": is_synthetic,
        },
    )
    return response.to_api_gateway()
