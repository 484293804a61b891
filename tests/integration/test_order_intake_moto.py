"""order_intake in the home region after a failover, on moto: forward, retry, never drop.

The control record is a real (moto) DynamoDB item, the saga a moto state machine that never
runs, and the new primary's internal route an HTTP stand-in on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.order_intake import handler as intake
from functions.orders import read_model
from functions.orders.domain import order_id_for
from tests.integration.orders_harness import (
    ORDER_BODY,
    PRIMARY,
    SECONDARY,
    TABLE,
    deploy_checkout,
    primary_accepts,
    put_control,
    serve,
)
from tests.support.lambda_context import lambda_context
from tests.support.postgres import free_port

# The stack that created the global database; after the failover SECONDARY writes.
HOME, NEW_PRIMARY = PRIMARY, SECONDARY
BODY = ORDER_BODY


@pytest.fixture
def home(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The home region's table and state machine on moto, and intake's environment; the ARN."""
    with mock_aws():
        arn = deploy_checkout(HOME, monkeypatch, FORWARD_TIMEOUT_SECONDS="1")
        intake.dependencies.cache_clear()
        yield arn
        intake.dependencies.cache_clear()


def order_requested(*keys: str) -> dict[str, Any]:
    """An SQS batch of OrderRequested events as the home bus's rule delivers them."""
    return {
        "Records": [
            {
                "messageId": key,
                "body": json.dumps(
                    {
                        "detail-type": "OrderRequested",
                        "detail": {
                            "idempotencyKey": key,
                            "orderId": order_id_for(key),
                            "request": BODY,
                            "originRegion": NEW_PRIMARY,
                        },
                    }
                ),
            }
            for key in keys
        ]
    }


def retried(result: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


def sagas_started_at_home(arn: str) -> list[str]:
    sfn = boto3.client("stepfunctions", region_name=HOME)
    return [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]]


def test_after_a_failover_home_forwards_to_the_new_primary_signed_and_starts_nothing(
    home: str,
) -> None:
    # Given a failover made another region the primary: the control record names its route
    with serve(primary_accepts) as primary:
        put_control(HOME, NEW_PRIMARY, f"{primary.url}/internal/orders")
        # When the home region's intake takes two OrderRequested
        result = intake.handler(order_requested("k-1", "k-2"), lambda_context())
    # Then both went to the new primary, each with its key and request, signed for its region
    assert retried(result) == []
    assert [r.headers["idempotency-key"] for r in primary.requests] == ["k-1", "k-2"]
    for request in primary.requests:
        assert (request.method, request.path, request.body) == ("POST", "/internal/orders", BODY)
        assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
        assert f"/{NEW_PRIMARY}/execute-api/aws4_request" in request.headers["authorization"]
        assert request.headers["x-origin-region"] == HOME
    # And no saga started in the home region, whose cluster no longer writes
    assert sagas_started_at_home(home) == []


@pytest.mark.parametrize("status", [400, 409])
def test_a_request_the_new_primary_refuses_is_not_retried(home: str, status: int) -> None:
    # Given a new primary that refuses the request (invalid, or the key reused)
    with serve(lambda r: (status, {"error": {"code": "REFUSED"}})) as primary:
        put_control(HOME, NEW_PRIMARY, f"{primary.url}/internal/orders")
        # When the intake takes it
        result = intake.handler(order_requested("k-1"), lambda_context())
    # Then it is done (logged), and nothing started at home
    assert retried(result) == []
    assert len(primary.requests) == 1
    assert sagas_started_at_home(home) == []


def test_a_new_primary_answering_5xx_gets_the_records_again(home: str) -> None:
    # Given a new primary answering 503 (for instance read-only on its side)
    with serve(lambda r: (503, {"error": {"code": "READ_ONLY"}})) as primary:
        put_control(HOME, NEW_PRIMARY, f"{primary.url}/internal/orders")
        # When the intake takes two records
        result = intake.handler(order_requested("k-1", "k-2"), lambda_context())
    # Then both are reported for another delivery, and nothing started at home
    assert retried(result) == ["k-1", "k-2"]
    assert sagas_started_at_home(home) == []


def test_an_unreachable_new_primary_gets_the_records_again(home: str) -> None:
    # Given a control record naming a write URL where nothing listens
    put_control(HOME, NEW_PRIMARY, f"https://127.0.0.1:{free_port()}/internal/orders")
    # When the intake takes two records / Then both are retried, nothing started at home
    assert retried(intake.handler(order_requested("k-1", "k-2"), lambda_context())) == [
        "k-1",
        "k-2",
    ]
    assert sagas_started_at_home(home) == []


@pytest.mark.parametrize("primary", [HOME, NEW_PRIMARY])
def test_read_only_mode_retries_every_record_and_starts_nothing(home: str, primary: str) -> None:
    # Given the failover tool set the control record to read-only
    with serve(primary_accepts) as stand_in:
        put_control(HOME, primary, f"{stand_in.url}/internal/orders", mode="read-only")
        # When the intake takes a record
        result = intake.handler(order_requested("k-1"), lambda_context())
    # Then it is retried, nothing was forwarded and nothing started
    assert retried(result) == ["k-1"]
    assert stand_in.requests == []
    assert sagas_started_at_home(home) == []


def test_without_a_control_record_the_home_region_still_writes(home: str) -> None:
    # Given no control record: no failover has ever happened
    # When the intake takes a record
    failures = retried(intake.handler(order_requested("k-1"), lambda_context()))

    # Then the saga starts here, in the home region, where intake runs
    assert failures == []
    assert len(sagas_started_at_home(home)) == 1


def test_while_home_writes_the_saga_starts_here(home: str) -> None:
    # Given the control record names the home region, mode normal
    put_control(HOME, HOME, None)
    # When the intake takes a record
    result = intake.handler(order_requested("k-1"), lambda_context())
    # Then the saga named after the order started here
    assert retried(result) == []
    assert sagas_started_at_home(home) == [order_id_for("k-1")]


def test_a_record_never_taken_ends_in_the_dead_letter_queue_not_lost(home: str) -> None:
    # Given the intake queue with its dead-letter queue (3 receives), and read-only mode
    sqs = boto3.client("sqs", region_name=HOME)
    dlq = sqs.create_queue(QueueName="order-requests-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue = sqs.create_queue(
        QueueName="order-requests",
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        },
    )["QueueUrl"]
    [record] = order_requested("k-1")["Records"]
    sqs.send_message(QueueUrl=queue, MessageBody=record["body"])
    put_control(HOME, HOME, None, mode="read-only")
    # When Lambda's event source mapping polls until the queue is empty: it deletes what the
    # handler does not report as failed, and leaves the rest for another delivery
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        event = {"Records": [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]}
        failed = set(retried(intake.handler(event, lambda_context())))
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    # Then the request waits in the dead-letter queue, intact, and no saga started
    [parked] = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(parked["Body"])["detail"]["idempotencyKey"] == "k-1"
    assert sagas_started_at_home(home) == []


def test_keys_and_messages_the_api_would_refuse_start_nothing_and_are_not_retried(
    home: str,
) -> None:
    # Given the home region writes, and a batch whose keys POST /orders answers 400 (empty,
    # too long, with a space, ending in a newline) plus a message that is not JSON
    put_control(HOME, HOME, None)
    event = order_requested("", "k" * 2000, "a b", "k-1\n")
    event["Records"].append({"messageId": "junk", "body": "not json"})
    # When the intake takes it
    result = intake.handler(event, lambda_context())
    # Then nothing is delivered again (no retry makes them valid) and no saga started
    assert retried(result) == []
    assert sagas_started_at_home(home) == []


@pytest.mark.parametrize(
    "attributes",
    [{"mode": {"N": "0"}}, {"primaryRegion": {"S": ""}}, {"writeUrl": {"S": "http://x/y"}}],
)
def test_a_malformed_control_record_starts_nothing_sends_nothing_and_is_retried(
    home: str, attributes: dict[str, Any]
) -> None:
    # Given a control record naming the new primary, with one attribute wrong
    with serve(primary_accepts) as primary:
        item = {k: {"S": v} for k, v in read_model.control_key().items()}
        item.update(
            {
                "primaryRegion": {"S": NEW_PRIMARY},
                "mode": {"S": "normal"},
                "writeUrl": {"S": f"{primary.url}/internal/orders"},
                **attributes,
            }
        )
        boto3.client("dynamodb", region_name=HOME).put_item(TableName=TABLE, Item=item)
        # When the intake takes a record
        result = intake.handler(order_requested("k-1"), lambda_context())
    # Then it waits for a usable record: delivered again, nothing started, nothing forwarded
    assert retried(result) == ["k-1"]
    assert sagas_started_at_home(home) == [] and primary.requests == []
