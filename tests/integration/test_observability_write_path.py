"""The on-call's view of a write: one correlation id from the client to the saga, and the
forwarding latency the dashboards read, on moto (the saga's counters: test_observability_saga)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions import business_metrics
from functions.write_api import handler as write_api
from tests.integration.orders_harness import (
    ORDER_BODY,
    PRIMARY,
    SECONDARY,
    deploy_checkout,
    primary_accepts,
    put_control,
    serve,
)
from tests.support.lambda_context import lambda_context
from tests.support.telemetry import captured_logs, emf_metrics, named

BODY = ORDER_BODY


def deploy_region(region: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A region's table and state machine, and the write API's environment pointing at them."""
    arn = deploy_checkout(region, monkeypatch)
    write_api.dependencies.cache_clear()
    return arn


def api_event(
    headers: dict[str, str], body: str, path: str = "/orders", request_id: str = "apigw-req-1"
) -> dict[str, Any]:
    """What API Gateway (HTTP API 2.0) hands the write API: lower-case headers."""
    return {
        "rawPath": path,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {"requestId": request_id, "http": {"method": "POST", "path": path}},
        "isBase64Encoded": False,
        "body": body,
    }


def execution_input(region: str, arn: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=region)
    [execution] = sfn.list_executions(stateMachineArn=arn)["executions"]
    return dict(json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]))


def test_a_clients_correlation_id_reaches_the_primarys_logs_and_the_saga_input(
    moto_static: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a secondary whose control record names the primary's internal route
    headers = {"Idempotency-Key": "key-1", "X-Correlation-Id": "checkout-7f3a"}
    with serve(primary_accepts) as primary:
        deploy_region(SECONDARY, monkeypatch)
        put_control(SECONDARY, PRIMARY, f"{primary.url}/internal/orders")
        # When a client posts an order in the secondary with its correlation id
        with captured_logs(write_api.logger) as secondary_logs:
            answer = write_api.handler(
                api_event(headers, json.dumps(BODY)), lambda_context("lambda-sec-1")
            )
    assert answer["statusCode"] == 202
    # Then the secondary logged the answer under the client's id
    [answered] = secondary_logs.saying("write answered")
    assert answered["correlation_id"] == "checkout-7f3a"
    # And the primary received it as a header of the signed request
    [forwarded] = primary.requests
    assert forwarded.headers["x-correlation-id"] == "checkout-7f3a"

    # When the primary's internal route receives that request, as API Gateway delivers it
    arn = deploy_region(PRIMARY, monkeypatch)
    put_control(PRIMARY, PRIMARY, None)
    with captured_logs(write_api.logger) as primary_logs:
        answer = write_api.handler(
            api_event(
                forwarded.headers,
                json.dumps(forwarded.body),
                "/internal/orders",
                request_id="apigw-primary-9",
            ),
            lambda_context("lambda-pri-1"),
        )
    assert answer["statusCode"] == 202
    # Then the primary's log line carries the client's id, not its own request id
    [answered] = primary_logs.saying("write answered")
    assert answered["correlation_id"] == "checkout-7f3a"
    # And the saga's input carries it, for every step to log with
    assert execution_input(PRIMARY, arn)["correlationId"] == "checkout-7f3a"


def test_without_a_correlation_id_the_request_id_is_used(
    moto_static: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the primary
    arn = deploy_region(PRIMARY, monkeypatch)
    put_control(PRIMARY, PRIMARY, None)
    # When a client posts without x-correlation-id
    with captured_logs(write_api.logger) as logs:
        write_api.handler(
            api_event({"Idempotency-Key": "key-2"}, json.dumps(BODY), request_id="apigw-req-42"),
            lambda_context(),
        )
    # Then API Gateway's request id correlates the log line and the saga
    [answered] = logs.saying("write answered")
    assert answered["correlation_id"] == "apigw-req-42"
    assert execution_input(PRIMARY, arn)["correlationId"] == "apigw-req-42"


def test_a_forwarded_write_records_its_latency_in_milliseconds(
    moto_static: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a secondary and a primary that answers
    with serve(primary_accepts) as primary:
        deploy_region(SECONDARY, monkeypatch)
        put_control(SECONDARY, PRIMARY, f"{primary.url}/internal/orders")
        capsys.readouterr()
        # When an order is forwarded
        answer = write_api.handler(
            api_event({"Idempotency-Key": "key-4"}, json.dumps(BODY)), lambda_context()
        )
    emitted = emf_metrics(capsys.readouterr().out)
    # Then one ForwardLatency value, in milliseconds, and no OrdersPlaced in the secondary
    assert answer["statusCode"] == 202
    [latency] = named(emitted, "ForwardLatency")
    assert latency.unit == "Milliseconds" and 0 < latency.value < 3000
    assert latency.dimensions == business_metrics.DIMENSIONS
    assert named(emitted, "OrdersPlaced") == []
