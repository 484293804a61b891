"""Money as integer minor units (cents): the only representation inside the system.

Floats never enter: a float cannot hold 0.1 exactly, and a sum of floats drifts. Amounts are
``int`` counts of the currency's minor unit, so 1999 USD is 19.99 dollars and 500 JPY is
500 yen (JPY has no minor unit).
"""

from __future__ import annotations

from collections.abc import Iterable

# ISO 4217 codes the shop sells in, with the number of digits of their minor unit.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "EUR": 2,
    "GBP": 2,
    "JPY": 0,
    "NZD": 2,
    "SEK": 2,
    "SGD": 2,
    "USD": 2,
}
ALLOWED_CURRENCIES = frozenset(CURRENCY_EXPONENTS)

# GraphQL's Int is a signed 32-bit integer (AppSync refuses anything larger), and the API
# serves totals through GraphQL: every amount, a total included, is at most this many minor
# units (21 474 836.47 in a two-digit currency).
MAX_ORDER_TOTAL = 2**31 - 1
# A line's unit price: well inside MAX_ORDER_TOTAL, so one unit of anything can be ordered.
MAX_UNIT_PRICE = 1_000_000_000


class MoneyError(ValueError):
    """An amount that is not a whole, non-negative number of minor units."""


def is_minor_units(value: object) -> bool:
    """True for a non-negative int that is not a bool (``True`` is an int in Python)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def line_total(quantity: int, unit_price: int) -> int:
    """The amount of one order line, in minor units."""
    if not is_minor_units(quantity) or not is_minor_units(unit_price):
        raise MoneyError("quantity and unit price must be non-negative integers")
    return quantity * unit_price


def order_total(lines: Iterable[tuple[int, int]]) -> int:
    """The sum of ``(quantity, unit_price)`` lines, in minor units."""
    return sum(line_total(quantity, price) for quantity, price in lines)
