"""Powertools for every handler: Logger, Tracer and Metrics built one way, in one place.

``observed(service, correlation_path)`` decorates a Lambda handler with
``Logger.inject_lambda_context`` (the correlation id found at ``correlation_path`` in the
event, a JMESPath), ``Tracer.capture_lambda_handler`` (tracing is Active on every function)
and, with ``metrics=True``, ``Metrics.log_metrics`` (EMF, namespace and dimensions from
:mod:`functions.business_metrics`). The correlation id is also bound in
:mod:`functions.correlation`, where the adapters read it.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from functions import business_metrics, correlation

# API Gateway (HTTP API 2.0, WebSocket): the caller's x-correlation-id, else the request id.
API_GATEWAY = 'headers."x-correlation-id" || requestContext.requestId'
# Step Functions: the saga's input carries it.
SAGA_INPUT = "correlationId"
# EventBridge scheduled events: the event's id.
EVENT_ID = "id"

# A handler that counted nothing this time (a GET through AppSync, a batch that started no
# saga) flushes no metrics: that is normal, not worth a warning on every invocation.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
metrics = Metrics(namespace=business_metrics.NAMESPACE, service=business_metrics.SERVICE)
Handler = TypeVar("Handler", bound=Callable[..., Any])


def service_logger(service: str) -> Logger:
    """The service's structured logger."""
    return Logger(service=service)


def service_tracer(service: str) -> Tracer:
    """The service's X-Ray tracer (patches boto3; does nothing outside Lambda)."""
    return Tracer(service=service)


def observed(
    log: Logger,
    trace: Tracer,
    correlation_path: str | None = None,
    *,
    emits_metrics: bool = False,
) -> Callable[[Handler], Handler]:
    """Wrap a Lambda handler with the Logger, the Tracer and (optionally) the Metrics."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def bound(event: Any, context: Any) -> Any:
            # inject_lambda_context has set the logger's correlation id from the event.
            correlation.bind(log.get_correlation_id())
            if correlation.current() is None:
                log.set_correlation_id(getattr(context, "aws_request_id", None))
                correlation.bind(log.get_correlation_id())
            return handler(event, context)

        wrapped: Any = trace.capture_lambda_handler(bound, capture_response=False)
        wrapped = log.inject_lambda_context(wrapped, correlation_id_path=correlation_path)
        if emits_metrics:
            wrapped = metrics.log_metrics(wrapped)
        return cast(Handler, functools.wraps(handler)(wrapped))

    return wrap


def count(metric: business_metrics.BusinessMetric, value: float = 1) -> None:
    """Add ``value`` to a business counter of this invocation."""
    metrics.add_metric(name=metric.name, unit=MetricUnit(metric.unit), value=value)


def record_ms(metric: business_metrics.BusinessMetric, milliseconds: float) -> None:
    """Record one duration, in milliseconds."""
    metrics.add_metric(name=metric.name, unit=MetricUnit.Milliseconds, value=milliseconds)
