"""The boto3 adapters of the write path: which AWS failures are worth a retry, and which not."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from functions.orders import saga
from functions.orders.aws import EventBridgeDomainEvents, StepFunctionsSagaStarter
from functions.orders.errors import TransientError
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


@pytest.mark.parametrize(
    "events",
    [
        RaisingEvents(ClientError({"Error": {"Code": "InternalException"}}, "PutEvents")),
        RaisingEvents(EndpointConnectionError(endpoint_url="https://events")),
        type("Refusing", (), {"put_events": lambda self, **kw: {"FailedEntryCount": 1}})(),
    ],
    ids=["client-error", "no-connection", "failed-entry"],
)
def test_a_domain_event_the_bus_did_not_take_is_retried_by_the_saga_not_compensated(
    events: Any,
) -> None:
    # Given a bus that refuses or cannot be reached
    publisher = EventBridgeDomainEvents(events, "orders")
    # When a step publishes its event
    with pytest.raises(TransientError) as raised:
        publisher.publish("OrderConfirmed", {"orderId": "o-1"})
    # Then the error is one the state machine retries, so a good order is not refunded
    assert type(raised.value).__name__ in saga.TRANSIENT_ERRORS


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
