"""The checkout saga, declared once, and the Step Functions definition generated from it.

Imported by the Pulumi program (WriteOrchestrator) as well as by the functions, so it imports
nothing from AWS and nothing heavy.

Each forward step's ``Catch`` enters the compensation chain at the failing step's own
compensation: a step that timed out may still have taken effect (a capture the provider did
make), and every compensation is a no-op when there is nothing to undo. The chain then runs
the remaining compensations in reverse and ends in ``OrderFailed`` (the execution succeeds;
the order is FAILED with its cause). A compensation that keeps failing after its retries ends
in ``CompensationFailed``, a ``Fail`` state: the execution fails, and the WriteOrchestrator's
alarm on the state machine's ``ExecutionsFailed`` metric pages someone. Nothing is swallowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Errors worth another attempt: a step raises TransientError for timeouts and 5xx of what it
# calls; the Lambda.* names are the service's own throttling and transport failures.
TRANSIENT_ERRORS: tuple[str, ...] = (
    "TransientError",
    "States.Timeout",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
ORDER_CONFIRMED_STATE = "OrderConfirmed"
ORDER_FAILED_STATE = "OrderFailed"
COMPENSATION_FAILED_STATE = "CompensationFailed"
COMPENSATION_FAILED_ERROR = "CompensationFailed"
# Where a Catch puts the error, so CancelOrder can record the cause.
ERROR_PATH = "$.error"


@dataclass(frozen=True)
class Action:
    """One Lambda-backed state: its state name and the catalog key of its handler."""

    state: str
    function: str


@dataclass(frozen=True)
class Step:
    """A forward step of the saga and the action that undoes it, if any."""

    action: Action
    compensation: Action | None


STEPS: tuple[Step, ...] = (
    Step(Action("ReserveOrder", "reserve_order"), Action("CancelOrder", "cancel_order")),
    Step(
        Action("AuthorizePayment", "authorize_payment"),
        Action("VoidAuthorization", "void_authorization"),
    ),
    Step(Action("CapturePayment", "capture_payment"), Action("RefundPayment", "refund_payment")),
    Step(Action("UpdateCustomer", "update_customer"), Action("RevertCustomer", "revert_customer")),
    Step(Action("ConfirmOrder", "confirm_order"), None),
)


def actions() -> tuple[Action, ...]:
    """Every Lambda-backed action: the forward steps, then the compensations."""
    forward = tuple(step.action for step in STEPS)
    return forward + tuple(step.compensation for step in STEPS if step.compensation)


def compensation_entry(index: int) -> str:
    """The state a failure of ``STEPS[index]`` goes to: its own or the nearest earlier undo."""
    for step in reversed(STEPS[: index + 1]):
        if step.compensation is not None:
            return step.compensation.state
    return ORDER_FAILED_STATE


def _task(arn: str, timeout_seconds: int) -> dict[str, Any]:
    return {"Type": "Task", "Resource": arn, "TimeoutSeconds": timeout_seconds, "ResultPath": None}


def definition(
    function_arns: Mapping[str, str],
    *,
    retry_interval_seconds: int = 2,
    max_attempts: int = 4,
    compensation_max_attempts: int = 8,
    task_timeout_seconds: int = 60,
) -> dict[str, Any]:
    """The ASL definition, given the Lambda ARN of every action's ``function`` key."""
    missing = sorted({a.function for a in actions()} - function_arns.keys())
    if missing:
        raise ValueError(f"no Lambda ARN for {', '.join(missing)}")
    states: dict[str, Any] = {}
    for index, step in enumerate(STEPS):
        state = _task(function_arns[step.action.function], task_timeout_seconds)
        state["Retry"] = [
            {
                "ErrorEquals": list(TRANSIENT_ERRORS),
                "IntervalSeconds": retry_interval_seconds,
                "MaxAttempts": max_attempts,
                "BackoffRate": 2.0,
            }
        ]
        # Business errors (a declined card) and exhausted retries both land here.
        state["Catch"] = [
            {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": ERROR_PATH,
                "Next": compensation_entry(index),
            }
        ]
        is_last = index == len(STEPS) - 1
        state["Next"] = ORDER_CONFIRMED_STATE if is_last else STEPS[index + 1].action.state
        states[step.action.state] = state

    compensations = [step.compensation for step in STEPS if step.compensation is not None]
    for position, undo in enumerate(compensations):
        state = _task(function_arns[undo.function], task_timeout_seconds)
        # An undo must eventually happen, so every error is retried, for longer.
        state["Retry"] = [
            {
                "ErrorEquals": ["States.ALL"],
                "IntervalSeconds": retry_interval_seconds,
                "MaxAttempts": compensation_max_attempts,
                "BackoffRate": 2.0,
            }
        ]
        state["Catch"] = [
            {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.compensationError",
                "Next": COMPENSATION_FAILED_STATE,
            }
        ]
        state["Next"] = compensations[position - 1].state if position > 0 else ORDER_FAILED_STATE
        states[undo.state] = state

    states[ORDER_CONFIRMED_STATE] = {"Type": "Succeed"}
    states[ORDER_FAILED_STATE] = {"Type": "Succeed"}
    states[COMPENSATION_FAILED_STATE] = {
        "Type": "Fail",
        "Error": COMPENSATION_FAILED_ERROR,
        "Cause": "a compensation kept failing after its retries; the order needs a person",
    }
    return {
        "Comment": "Checkout saga, generated by functions/orders/saga.py",
        "StartAt": STEPS[0].action.state,
        "States": states,
    }
