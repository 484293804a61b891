"""The boto3 adapters of the write path: which AWS failures are worth a retry, and which not."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from functions.orders.aws import EventBridgeDomainEvents, StepFunctionsSagaStarter
from functions.orders.outbox import OutboxEvent
from functions.orders.ports import PrimaryUnreachable, WritePathMisconfigured

MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:checkout"


def client(service: str) -> Any:
    return boto3.client(
        service,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class RaisingEvents:
    """An EventBridge client whose PutEvents raises ``error``."""

    def __init__(self, error: Exception):
        self._error = error

    def put_events(self, **kwargs: Any) -> dict[str, Any]:
        raise self._error


EVENTS = [
    OutboxEvent(1, "o-1", "PaymentCaptured", '{"orderId": "o-1"}'),
    OutboxEvent(2, "o-1", "OrderConfirmed", '{"orderId": "o-1"}'),
]


@pytest.mark.parametrize(
    "events",
    [
        RaisingEvents(ClientError({"Error": {"Code": "InternalException"}}, "PutEvents")),
        RaisingEvents(EndpointConnectionError(endpoint_url="https://events")),
        type("Refusing", (), {"put_events": lambda self, **kw: {"FailedEntryCount": 2}})(),
    ],
    ids=["client-error", "no-connection", "no-entries"],
)
def test_events_the_bus_did_not_take_are_reported_not_raised(events: Any) -> None:
    # Given a bus that refuses or cannot be reached
    publisher = EventBridgeDomainEvents(events, "orders")
    # When the outbox publishes a batch
    errors = publisher.publish_batch(EVENTS)
    # Then each event is reported not taken (it stays in the outbox), and nothing is raised
    # into the saga step that drains it
    assert len(errors) == 2 and all(errors)


def test_only_the_entries_the_bus_refused_are_reported() -> None:
    # Given a bus that takes the first entry of a batch and refuses the second
    answer = {
        "FailedEntryCount": 1,
        "Entries": [{"EventId": "e-1"}, {"ErrorCode": "InternalFailure", "ErrorMessage": "x"}],
    }
    publisher = EventBridgeDomainEvents(
        type("Half", (), {"put_events": lambda self, **kw: answer})(), "orders"
    )
    # When the batch is published / Then only the second stays to be published again
    errors = publisher.publish_batch(EVENTS)
    assert errors[0] is None and errors[1] is not None and "InternalFailure" in errors[1]


@pytest.mark.parametrize(
    "code",
    ["AccessDeniedException", "StateMachineDoesNotExist", "ValidationException", "InvalidArn"],
)
def test_a_saga_start_refused_for_good_is_a_misconfiguration_not_read_only(code: str) -> None:
    # Given Step Functions refusing StartExecution because of how the stack is deployed
    sfn = client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_client_error("start_execution", code, http_status_code=400)
        # When the write API starts a saga
        # Then it is a misconfiguration (a logged 500), not a 503 that tells clients to wait
        with pytest.raises(WritePathMisconfigured):
            StepFunctionsSagaStarter(sfn, MACHINE).start("o-1", "f", {})


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 400), ("ServiceUnavailable", 503), ("InternalFailure", 500)],
)
def test_a_throttled_or_failing_saga_start_is_read_only(code: str, status: int) -> None:
    # Given Step Functions throttling or failing for now
    sfn = client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_client_error("start_execution", code, http_status_code=status)
        # When the write API starts a saga / Then clients are told to retry later (503)
        with pytest.raises(PrimaryUnreachable):
            StepFunctionsSagaStarter(sfn, MACHINE).start("o-1", "f", {})
