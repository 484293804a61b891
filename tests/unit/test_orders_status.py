"""The order status life cycle."""

from __future__ import annotations

import pytest

from functions.orders.domain import InvalidTransition, OrderStatus, can_transition, check_transition

S = OrderStatus


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING, S.AUTHORIZED),
        (S.AUTHORIZED, S.CAPTURED),
        (S.CAPTURED, S.CONFIRMED),
        (S.PENDING, S.FAILED),
        (S.AUTHORIZED, S.FAILED),
        (S.CAPTURED, S.FAILED),
    ],
)
def test_the_saga_moves_an_order_forward_or_to_failed(current: S, target: S) -> None:
    # Given a status on the happy or the failure path / When it moves / Then that is allowed
    assert can_transition(current, target)


@pytest.mark.parametrize("target", list(S))
def test_confirmed_and_failed_orders_never_change_again(target: S) -> None:
    # Given a terminal order / When anything is attempted / Then it is refused
    assert not can_transition(S.CONFIRMED, target)
    assert not can_transition(S.FAILED, target)


def test_an_order_cannot_be_confirmed_before_its_payment_is_captured() -> None:
    # Given an authorized order / When confirmation is attempted / Then it is refused
    with pytest.raises(InvalidTransition):
        check_transition(S.AUTHORIZED, S.CONFIRMED)
