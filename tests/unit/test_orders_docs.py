"""docs/write-path.md promises what the code does: the limits and the outcomes it states."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from functions.orders.domain import (
    MAX_BODY_BYTES,
    MAX_TOKEN_LENGTH,
    ValidationError,
    parse_idempotency_key,
)

DOC = (Path(__file__).resolve().parents[2] / "docs" / "write-path.md").read_text()
TEXT = re.sub(r"\s+", " ", DOC)


def test_the_key_rule_the_doc_states_is_the_one_the_api_applies() -> None:
    # Given the doc's rule for Idempotency-Key: visible ASCII, no space (printable ASCII
    # would include the space, which the API refuses)
    assert "1 to 255 **visible ASCII characters** (`!` to `~`" in TEXT
    assert "printable ASCII" not in TEXT
    # Then the API accepts the first and last visible characters and refuses a space
    assert parse_idempotency_key({"idempotency-key": "!~"}) == "!~"
    with pytest.raises(ValidationError):
        parse_idempotency_key({"idempotency-key": "a b"})


def test_the_doc_states_the_token_and_body_limits_the_api_applies() -> None:
    assert f"`payment.token` 1 to {MAX_TOKEN_LENGTH} characters" in TEXT
    assert f"the body at most {MAX_BODY_BYTES // 1024} KiB" in TEXT


def test_the_doc_says_a_503_after_a_forward_timeout_may_hide_an_accepted_order() -> None:
    # Given the forwarder gives up after its timeout while the primary may go on
    [paragraph] = [p for p in DOC.split("\n\n") if p.startswith("**What a 503 means")]
    # Then the doc says so, and how to learn the outcome
    text = re.sub(r"\s+", " ", paragraph)
    assert "did not answer in time" in text and "may go ahead" in text
    assert "Retrying with the **same key and body**" in text


def test_the_doc_says_the_crm_hears_of_orders_that_fail_after_it_was_told() -> None:
    from functions.orders.crm import HttpCrm

    assert "`POST <crmUrl>/<orderId>/failed`" in TEXT
    assert callable(HttpCrm.order_failed)
