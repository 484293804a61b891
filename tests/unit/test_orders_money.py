"""Money arithmetic in integer minor units."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.orders.money import MoneyError, line_total, order_total

lines = st.lists(st.tuples(st.integers(1, 1000), st.integers(0, 10**9)), max_size=100)


@settings(max_examples=200)
@given(lines)
def test_an_order_total_is_exactly_the_sum_of_its_lines(order: list[tuple[int, int]]) -> None:
    # Given any order of lines
    # When its total is computed
    total = order_total(order)
    # Then it is exact, whatever the order of the lines
    assert total == sum(q * p for q, p in order) == order_total(reversed(order))


def test_three_lines_of_ten_cents_make_thirty_cents_exactly() -> None:
    # Given the amounts that floats get wrong (0.1 + 0.2 != 0.3)
    # When summed as minor units
    # Then the sum is exact
    assert order_total([(1, 10), (1, 10), (1, 10)]) == 30


@pytest.mark.parametrize("bad", [1.5, -1, True])
def test_a_line_refuses_anything_but_non_negative_integers(bad: object) -> None:
    # Given a float, a negative or a bool as a price
    # When a line total is computed / Then it is refused
    with pytest.raises(MoneyError):
        line_total(1, bad)  # type: ignore[arg-type]
