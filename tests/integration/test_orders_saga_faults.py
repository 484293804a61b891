"""The saga's fault matrix: every step and compensation, every kind of fault, then a rerun.

Each case injects one fault (FAULTS: a business error, a transient error, an answer lost
once, an answer lost on every attempt) at one place, lets the saga run to its end, and checks
where money and the order stand: the execution, the database, the provider, the customer's
count, the CRM, and the read model. Then it runs the same saga again (the same input on
another state machine, as after a failover), with the fault gone but what triggered the
compensations still there, and checks the order is final: nothing more moves for an order
that ended, and the compensations finish whatever the first run left undone.

Two matrices: faults at the boundary of each saga function (its Lambda errs before running,
or its answer is lost after it ran), and faults at each call to the payment provider and the
CRM. A compensation is reached by a business error of a forward step (the ``trigger``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from tests.integration.saga_harness import (
    FAULTS,
    End,
    World,
    view,
)

pytestmark = pytest.mark.postgres

S, F = "SUCCEEDED", "FAILED"
CONFIRMED = End(S, "CONFIRMED", "CAPTURED", "captured", 1, "placed")
NO_ORDER = End(S, None, None, None, 0, None)
FAILED_UNPAID = End(S, "FAILED", "PENDING", None, 0, None)
VOIDED = End(S, "FAILED", "VOIDED", "voided", 0, None)
REFUNDED = End(S, "FAILED", "REFUNDED", "refunded", 0, None)
# Refunded after the CRM was told of the order, so it was told it failed too.
REFUNDED_TOLD = End(S, "FAILED", "REFUNDED", "refunded", 0, "failed")


@dataclass(frozen=True)
class Case:
    """One cell: where the saga ends, and where a rerun (without the fault) leaves it."""

    first: End
    # None: the rerun finds the order as the first run left it, execution succeeded.
    rerun: End | None = None


# Faults at the Lambda boundary of each saga function, and the business error that brings
# the saga to a compensation (on a forward step, before it runs).
TRIGGER = {
    "revert_customer": "confirm_order",
    "refund_payment": "confirm_order",
    "void_authorization": "capture_payment",
    "cancel_order": "authorize_payment",
}
AT_THE_LAMBDA: dict[tuple[str, str], Case] = {
    ("reserve_order", "business"): Case(NO_ORDER, rerun=CONFIRMED),
    ("reserve_order", "transient"): Case(CONFIRMED),
    ("reserve_order", "lost_once"): Case(CONFIRMED),
    ("reserve_order", "lost_always"): Case(FAILED_UNPAID),
    ("authorize_payment", "business"): Case(FAILED_UNPAID),
    ("authorize_payment", "transient"): Case(CONFIRMED),
    ("authorize_payment", "lost_once"): Case(CONFIRMED),
    ("authorize_payment", "lost_always"): Case(VOIDED),
    ("capture_payment", "business"): Case(VOIDED),
    ("capture_payment", "transient"): Case(CONFIRMED),
    ("capture_payment", "lost_once"): Case(CONFIRMED),
    ("capture_payment", "lost_always"): Case(REFUNDED),
    ("update_customer", "business"): Case(REFUNDED),
    ("update_customer", "transient"): Case(CONFIRMED),
    ("update_customer", "lost_once"): Case(CONFIRMED),
    ("update_customer", "lost_always"): Case(REFUNDED_TOLD),
    ("confirm_order", "business"): Case(REFUNDED_TOLD),
    ("confirm_order", "transient"): Case(CONFIRMED),
    ("confirm_order", "lost_once"): Case(CONFIRMED),
    # Confirmed, then every answer lost: kept, and the execution fails (an alarm).
    ("confirm_order", "lost_always"): Case(End(F, "CONFIRMED", "CAPTURED", "captured", 1, "placed"), CONFIRMED),
    # A compensation that keeps failing stops the chain and pages; a rerun finishes it.
    ("revert_customer", "business"): Case(End(F, "CAPTURED", "CAPTURED", "captured", 0, "placed"), REFUNDED_TOLD),
    ("revert_customer", "transient"): Case(REFUNDED_TOLD),
    ("revert_customer", "lost_once"): Case(REFUNDED_TOLD),
    ("revert_customer", "lost_always"): Case(End(F, "FAILED", "CAPTURED", "captured", 0, "failed"), REFUNDED_TOLD),
    ("refund_payment", "business"): Case(End(F, "FAILED", "CAPTURED", "captured", 0, "failed"), REFUNDED_TOLD),
    ("refund_payment", "transient"): Case(REFUNDED_TOLD),
    ("refund_payment", "lost_once"): Case(REFUNDED_TOLD),
    ("refund_payment", "lost_always"): Case(End(F, "FAILED", "REFUNDED", "refunded", 0, "failed"), REFUNDED_TOLD),
    ("void_authorization", "business"): Case(End(F, "FAILED", "AUTHORIZED", "authorized", 0, None), VOIDED),
    ("void_authorization", "transient"): Case(VOIDED),
    ("void_authorization", "lost_once"): Case(VOIDED),
    ("void_authorization", "lost_always"): Case(End(F, "FAILED", "VOIDED", "voided", 0, None), VOIDED),
    ("cancel_order", "business"): Case(End(F, "FAILED", "PENDING", None, 0, None), FAILED_UNPAID),
    ("cancel_order", "transient"): Case(FAILED_UNPAID),
    ("cancel_order", "lost_once"): Case(FAILED_UNPAID),
    ("cancel_order", "lost_always"): Case(End(F, "FAILED", "PENDING", None, 0, None), FAILED_UNPAID),
}  # fmt: skip

# Faults at each call out; the calls that compensations make need a trigger, a refusal by
# the provider or the CRM of a forward call.
CALL_TRIGGER = {"void": "capture", "refund": "crm", "crm-failed": None}
AT_THE_PROVIDER: dict[tuple[str, str], Case] = {
    ("authorize", "business"): Case(End(S, "FAILED", "DECLINED", None, 0, None)),
    ("authorize", "transient"): Case(CONFIRMED),
    ("authorize", "lost_once"): Case(CONFIRMED),
    # Issue 11, 1: found by its idempotency key and voided.
    ("authorize", "lost_always"): Case(VOIDED),
    ("capture", "business"): Case(VOIDED),
    ("capture", "transient"): Case(CONFIRMED),
    ("capture", "lost_once"): Case(CONFIRMED),
    ("capture", "lost_always"): Case(REFUNDED),
    ("crm", "business"): Case(REFUNDED),
    ("crm", "transient"): Case(CONFIRMED),
    ("crm", "lost_once"): Case(CONFIRMED),
    ("crm", "lost_always"): Case(REFUNDED_TOLD),
    # Reached through a refused capture: the authorization must be released.
    ("void", "business"): Case(End(F, "FAILED", "AUTHORIZED", "authorized", 0, None), VOIDED),
    ("void", "transient"): Case(VOIDED),
    # The retry asks the provider, finds it voided, and records so: no page.
    ("void", "lost_once"): Case(VOIDED),
    ("void", "lost_always"): Case(VOIDED),
    # Reached through a CRM refusal: the capture must be refunded.
    ("refund", "business"): Case(End(F, "FAILED", "CAPTURED", "captured", 0, None), REFUNDED),
    ("refund", "transient"): Case(REFUNDED),
    ("refund", "lost_once"): Case(REFUNDED),
    ("refund", "lost_always"): Case(REFUNDED),
    # Reached through a failed confirmation, after the CRM was told of the order.
    ("crm-failed", "business"): Case(End(F, "FAILED", "CAPTURED", "captured", 0, "placed"), REFUNDED_TOLD),
    ("crm-failed", "transient"): Case(REFUNDED_TOLD),
    ("crm-failed", "lost_once"): Case(REFUNDED_TOLD),
    ("crm-failed", "lost_always"): Case(End(F, "FAILED", "CAPTURED", "captured", 0, "failed"), REFUNDED_TOLD),
}  # fmt: skip


def test_every_function_and_every_call_is_in_its_matrix_with_every_fault() -> None:
    # Given the saga's functions and the calls they make / Then each meets each fault
    functions = {"reserve_order", "authorize_payment", "capture_payment", "update_customer"}
    functions |= {"confirm_order", *TRIGGER}
    assert set(AT_THE_LAMBDA) == {(f, k) for f in functions for k in FAULTS}
    calls = {"authorize", "capture", "crm", *CALL_TRIGGER}
    assert set(AT_THE_PROVIDER) == {(c, k) for c in calls for k in FAULTS}


def check_end_and_view(world: World, order_id: str, expected: End, machine: str | None) -> None:
    """The order ended as expected everywhere, and the read model shows what the rows hold."""
    assert world.end(order_id, machine) == expected
    world.project()
    shown = view(order_id)
    if expected.order is None:
        assert shown is None
    else:
        assert shown is not None
        assert (shown["status"], shown["payment"]) == (expected.order, expected.payment)


def check_rerun(world: World, order_id: str, case: Case) -> None:
    """Run the saga again, the fault gone: an ended order moves no money forward."""
    ended = case.first.order in ("FAILED", "CONFIRMED")
    before = len(world.provider.requests)
    world.rerun(order_id)
    check_end_and_view(
        world, order_id, case.rerun or replace(case.first, execution=S), world.rerun_machine_arn
    )
    if ended:
        again = [(r.method, r.path) for r in world.provider.requests[before:]]
        assert ("POST", "/v1/authorizations") not in again
        assert not [path for method, path in again if path.endswith("/capture")]


def ids(cases: dict[tuple[str, str], Case]) -> list[str]:
    return [f"{where}-{fault}" for where, fault in sorted(cases)]


@pytest.mark.parametrize("function, fault", sorted(AT_THE_LAMBDA), ids=ids(AT_THE_LAMBDA))
def test_a_fault_at_a_saga_function(world: World, function: str, fault: str) -> None:
    case = AT_THE_LAMBDA[(function, fault)]
    # Given a fault at this function's boundary (and the business error that reaches it)
    world.fault(function, fault)
    if function in TRIGGER:
        world.fault(TRIGGER[function], "business")
    # When an order is placed and its saga runs to its end
    order_id = world.run()
    # Then money and the order stand as expected, in the database, at the provider, in the view
    check_end_and_view(world, order_id, case.first, None)
    # And when the saga runs again for it, the fault gone, it is final or finished
    del world.lambda_faults[function]
    check_rerun(world, order_id, case)


@pytest.mark.parametrize("call, fault", sorted(AT_THE_PROVIDER), ids=ids(AT_THE_PROVIDER))
def test_a_fault_at_a_provider_or_crm_call(world: World, call: str, fault: str) -> None:
    case = AT_THE_PROVIDER[(call, fault)]
    # Given a fault at this call (and the refusal that makes the saga compensate)
    world.stand_in.faults[call] = fault
    if call in CALL_TRIGGER:
        trigger = CALL_TRIGGER[call]
        if trigger is None:
            world.fault("confirm_order", "business")
        else:
            world.stand_in.faults[trigger] = "business"
    # When an order is placed and its saga runs to its end
    order_id = world.run()
    # Then money and the order stand as expected, at the provider, in the database, the view
    check_end_and_view(world, order_id, case.first, None)
    # And when the saga runs again for it, the fault gone, it is final or finished
    del world.stand_in.faults[call]
    check_rerun(world, order_id, case)
