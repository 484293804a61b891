"""The generated Step Functions definition: valid, and wired as the saga declares."""

from __future__ import annotations

from typing import Any

import pytest
from statelint.linter import Linter

from functions.catalog import saga_function_names
from functions.orders import saga

ARNS = {
    name: f"arn:aws:lambda:eu-west-1:123456789012:function:{name}" for name in saga_function_names()
}


@pytest.fixture
def states() -> dict[str, Any]:
    return saga.definition(ARNS)["States"]


def follow(states: dict[str, Any], start: str) -> list[str]:
    """The states visited from ``start`` along ``Next`` until a terminal state."""
    path = [start]
    while "Next" in states[path[-1]]:
        path.append(states[path[-1]]["Next"])
    return path


def test_the_generated_definition_passes_statelint() -> None:
    # Given the definition for some ARNs
    # When statelint validates it
    problems = Linter.validate(saga.definition(ARNS))
    # Then it finds nothing
    assert problems == []


def test_the_happy_path_runs_the_five_steps_in_order(states: dict[str, Any]) -> None:
    # Given the definition / When followed from the start without failures
    # Then the steps run in the declared order and end confirmed
    assert follow(states, "ReserveOrder") == [
        "ReserveOrder",
        "AuthorizePayment",
        "CapturePayment",
        "UpdateCustomer",
        "ConfirmOrder",
        "OrderConfirmed",
    ]


@pytest.mark.parametrize(
    ("failing", "compensations"),
    [
        ("ReserveOrder", ["CancelOrder"]),
        ("AuthorizePayment", ["VoidAuthorization", "CancelOrder"]),
        ("CapturePayment", ["RefundPayment", "VoidAuthorization", "CancelOrder"]),
        ("UpdateCustomer", ["RevertCustomer", "RefundPayment", "VoidAuthorization", "CancelOrder"]),
        ("ConfirmOrder", ["RevertCustomer", "RefundPayment", "VoidAuthorization", "CancelOrder"]),
    ],
)
def test_a_failure_runs_the_compensations_in_reverse_and_ends_failed(
    states: dict[str, Any], failing: str, compensations: list[str]
) -> None:
    # Given a step that fails
    entry = states[failing]["Catch"][0]["Next"]
    # When the compensation chain is followed
    # Then each compensation of what may have happened runs once, in reverse, then OrderFailed
    assert follow(states, entry) == [*compensations, "OrderFailed"]


def test_forward_steps_retry_transient_errors_only(states: dict[str, Any]) -> None:
    # Given every forward step
    for step in saga.STEPS:
        retries = states[step.action.state]["Retry"]
        retried = {e for r in retries for e in r["ErrorEquals"]}
        # Then a declined card or any other business error is never retried, and backoff grows
        assert "TransientError" in retried
        assert "States.ALL" not in retried and "PaymentDeclined" not in retried
        assert all(r["BackoffRate"] > 1 for r in retries)


def test_a_compensation_that_keeps_failing_fails_the_execution(states: dict[str, Any]) -> None:
    # Given every compensation
    for action in saga.actions()[len(saga.STEPS) :]:
        state = states[action.state]
        # Then it retries every error, and when retries run out the execution fails (alarm)
        assert state["Retry"][0]["ErrorEquals"] == ["States.ALL"]
        target = states[state["Catch"][0]["Next"]]
        assert target["Type"] == "Fail"


def test_no_arn_is_left_out() -> None:
    # Given an ARN map without one step
    partial = dict(ARNS)
    del partial["refund_payment"]
    # When the definition is generated / Then it refuses, naming the step
    with pytest.raises(ValueError, match="refund_payment"):
        saga.definition(partial)


def test_importing_the_declaration_pulls_in_no_aws_sdk() -> None:
    # Given a fresh interpreter
    import subprocess
    import sys

    code = (
        "import sys; import functions.catalog, functions.orders.saga; "
        "print(any(m.split('.')[0] in {'boto3', 'botocore', 'pg8000'} for m in sys.modules))"
    )
    # When the catalog and the saga declaration are imported
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    # Then neither boto3, botocore nor pg8000 was loaded (the Pulumi program imports them)
    assert out == "False"
