"""Validation of POST /orders bodies and headers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.orders.domain import (
    MAX_BODY_BYTES,
    ValidationError,
    order_id_for,
    parse_idempotency_key,
    parse_order_request,
)
from functions.orders.money import MAX_ORDER_TOTAL


def body(**overrides: Any) -> dict[str, Any]:
    """A valid body, with top-level fields replaced."""
    data: dict[str, Any] = {
        "customerId": "cust-1",
        "currency": "USD",
        "items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": 1999}],
        "payment": {"token": "tok_visa"},
    }
    data.update(overrides)
    return data


def refusal(raw: str | bytes) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_order_request(raw)
    return caught.value


def test_a_valid_body_gives_its_total_in_minor_units() -> None:
    # Given a body with two units at 19.99
    # When it is parsed
    request = parse_order_request(json.dumps(body()))
    # Then the total is 3998 cents
    assert request.total == 3998


@pytest.mark.parametrize("price", [19.99, 1999.0, -1, "1999", True, None])
def test_a_unit_price_that_is_not_a_non_negative_integer_is_refused(price: object) -> None:
    # Given a unit price that is a float, a negative, a string, a bool or null
    raw = json.dumps(body(items=[{"sku": "S", "quantity": 1, "unitPrice": price}]))
    # When it is parsed / Then the unit price is named as the problem
    assert refusal(raw).field == "items[0].unitPrice"


@pytest.mark.parametrize("quantity", [0, 1001, 1.5, False])
def test_a_quantity_outside_1_to_1000_is_refused(quantity: object) -> None:
    # Given a quantity of 0, 1001, a fraction or a bool
    raw = json.dumps(body(items=[{"sku": "S", "quantity": quantity, "unitPrice": 1}]))
    # When it is parsed / Then the quantity is named
    assert refusal(raw).field == "items[0].quantity"


def test_more_than_100_items_are_refused() -> None:
    # Given 101 lines
    lines = [{"sku": f"S{i}", "quantity": 1, "unitPrice": 1} for i in range(101)]
    # When parsed / Then items is named
    assert refusal(json.dumps(body(items=lines))).field == "items"


def test_a_currency_outside_the_allowed_list_is_refused() -> None:
    # Given a currency code that is not sold in
    # When parsed / Then the code says so
    assert refusal(json.dumps(body(currency="XTS"))).code == "UNSUPPORTED_CURRENCY"


def test_an_empty_payment_token_is_refused() -> None:
    # Given a blank token
    # When parsed / Then the token is named
    assert refusal(json.dumps(body(payment={"token": "  "}))).field == "payment.token"


def test_an_extra_field_is_refused_by_name() -> None:
    # Given a body with a field the API does not know
    error = refusal(json.dumps(body(discount=10)))
    # Then the field is named and the code says it is unknown
    assert (error.code, error.field) == ("UNKNOWN_FIELD", "discount")


def test_a_missing_field_is_refused_by_name() -> None:
    # Given a body without a currency
    data = body()
    del data["currency"]
    # When parsed / Then the missing field is named
    assert (refusal(json.dumps(data)).code, refusal(json.dumps(data)).field) == (
        "MISSING_FIELD",
        "currency",
    )


@pytest.mark.parametrize("raw", ["{", "[]", "null", '{"a": NaN}', "\xff", b"\xff\xfe", "1" * 5000])
def test_malformed_json_is_a_400(raw: str | bytes) -> None:
    # Given bodies that are not a JSON object
    # When parsed / Then the refusal is a 400
    assert refusal(raw).status == 400


@pytest.mark.parametrize(
    "raw",
    [
        # An unpaired surrogate as a character of the body (what a Lambda event can carry)...
        '{"customerId": "\ud800"}',
        json.dumps(body())[:-1] + ', "x": "\ud800"}',
        # ... or escaped inside a string, where it would reach the provider as the token
        json.dumps(body(payment={"token": "tok\ud800"}), ensure_ascii=True),
    ],
)
def test_a_body_with_an_unpaired_surrogate_is_a_400_not_a_crash(raw: str) -> None:
    # Given a body that is not valid Unicode
    # When parsed / Then the refusal is a 400 saying the body is not valid JSON text
    refused = refusal(raw)
    assert (refused.status, refused.code) == (400, "INVALID_JSON")


def test_a_body_with_a_repeated_key_is_refused() -> None:
    # Given JSON in which customerId appears twice (parsers disagree on which one wins)
    raw = json.dumps(body())[:-1] + ', "customerId": "other"}'
    # When parsed / Then the duplicate is refused
    assert refusal(raw).code == "DUPLICATE_FIELD"


def test_an_oversized_body_is_a_413() -> None:
    # Given a body one byte over the limit
    raw = "x" * (MAX_BODY_BYTES + 1)
    # When parsed / Then the status is 413
    assert refusal(raw).status == 413


def test_a_missing_idempotency_key_is_a_400_naming_the_header() -> None:
    # Given headers without the key
    with pytest.raises(ValidationError) as caught:
        parse_idempotency_key({"content-type": "application/json"})
    # Then the header is named
    assert (caught.value.status, caught.value.field) == (400, "Idempotency-Key")


@pytest.mark.parametrize("field", ["customerId", "sku"])
def test_an_id_ending_in_a_newline_is_refused(field: str) -> None:
    # Given a customer id or a SKU with a trailing newline, which `$` would let through
    data = body()
    if field == "customerId":
        data["customerId"] = "c1\n"
    else:
        data["items"][0]["sku"] = "SKU-1\n"
    # When parsed / Then it is refused as an invalid value
    assert refusal(json.dumps(data)).code == "INVALID_VALUE"


@pytest.mark.parametrize(
    "key", ["k\n", "k\r\n", "\nk", "k k", " k", "k\t", "k\x00", "ké", "k" * 256]
)
def test_a_key_that_is_not_1_to_255_visible_ascii_characters_is_refused(key: str) -> None:
    # Given a key with a newline (which `$` would let through), a space, a control
    # character, a non-ASCII letter, or one character too many
    with pytest.raises(ValidationError) as caught:
        parse_idempotency_key({"idempotency-key": key})
    # Then it is a 400 naming the header
    assert (caught.value.status, caught.value.code) == (400, "INVALID_IDEMPOTENCY_KEY")
    assert caught.value.field == "Idempotency-Key"


@pytest.mark.parametrize("key", ["k", "4f1c9a7e-checkout-123", "~!#$%&*+/=?^_`{|}", "k" * 255])
def test_a_key_of_visible_ascii_characters_is_accepted_as_it_is(key: str) -> None:
    # Given a key of 1 to 255 visible ASCII characters
    # When it is read / Then it is the key, unchanged
    assert parse_idempotency_key({"idempotency-key": key}) == key


def test_the_same_key_always_names_the_same_order_and_another_key_another() -> None:
    # Given two keys
    # When order ids are derived twice
    # Then the derivation is stable and distinct
    assert order_id_for("k-1") == order_id_for("k-1") != order_id_for("k-2")


def test_whitespace_does_not_change_the_fingerprint_but_the_content_does() -> None:
    # Given the same body spaced differently, and one with another quantity
    compact = parse_order_request(json.dumps(body(), separators=(",", ":")))
    spaced = parse_order_request(json.dumps(body(), indent=4))
    other = parse_order_request(
        json.dumps(body(items=[{"sku": "SKU-1", "quantity": 3, "unitPrice": 1999}]))
    )
    # Then only the meaning counts
    assert compact.fingerprint() == spaced.fingerprint() != other.fingerprint()


GRAPHQL_INT_MAX = 2**31 - 1  # GraphQL's Int is a signed 32-bit integer


def lines_totalling(total: int) -> list[dict[str, Any]]:
    """Lines of at most 1 000 000 000 each whose amounts add up to ``total``."""
    billion = 1_000_000_000
    full, rest = divmod(total, billion)
    prices = [billion] * full + ([rest] if rest else [])
    return [{"sku": f"SKU-{i}", "quantity": 1, "unitPrice": p} for i, p in enumerate(prices)]


def test_an_order_total_of_exactly_the_largest_graphql_int_is_accepted() -> None:
    # Given lines adding up to 2^31 - 1 minor units
    # When the body is parsed
    request = parse_order_request(json.dumps(body(items=lines_totalling(GRAPHQL_INT_MAX))))
    # Then it is accepted with that total
    assert request.total == GRAPHQL_INT_MAX == MAX_ORDER_TOTAL


def test_an_order_total_one_over_the_largest_graphql_int_is_a_400_on_items() -> None:
    # Given lines adding up to 2^31 minor units
    # When the body is parsed
    error = refusal(json.dumps(body(items=lines_totalling(GRAPHQL_INT_MAX + 1))))
    # Then it is refused as out of range, naming the items and the limit
    assert (error.status, error.code, error.field) == (400, "OUT_OF_RANGE", "items")
    assert str(GRAPHQL_INT_MAX) in error.message


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 1000), st.integers(0, 1_000_000_000)), min_size=1, max_size=100
    )
)
def test_every_accepted_order_has_totals_a_graphql_int_can_carry(
    lines: list[tuple[int, int]],
) -> None:
    # Given any lines within the per-line limits
    items = [{"sku": f"S{i}", "quantity": q, "unitPrice": p} for i, (q, p) in enumerate(lines)]
    # When the body is parsed
    try:
        request = parse_order_request(json.dumps(body(items=items)))
    except ValidationError as error:
        # Then a refusal is a 400 naming the items
        assert (error.status, error.field) == (400, "items")
        return
    # Then every amount the API will show fits a 32-bit GraphQL Int
    assert 0 < request.total <= GRAPHQL_INT_MAX
    assert all(line.unit_price <= GRAPHQL_INT_MAX for line in request.items)
