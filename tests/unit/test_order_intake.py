"""order_intake follows the control record: saga here, forward to the primary, or retry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.order_intake import handler as intake_handler
from functions.order_intake.intake import (
    BatchForwarder,
    IntakeDeps,
    RetryLater,
    Taken,
    take,
)
from functions.orders.domain import order_id_for
from functions.orders.ports import ControlRecord, Forwarder, Mode, PrimaryUnreachable, Relayed
from functions.orders.settings import IntakeSettings, SettingsError
from tests.support.lambda_context import lambda_context
from tests.unit.orders_fakes import FakeControl, FakeForwarder, FakeSaga

HOME, NEW_PRIMARY = "us-east-1", "eu-west-1"
WRITE_URL = "https://eu.example/internal/orders"
REQUEST = {
    "customerId": "c1",
    "currency": "EUR",
    "items": [{"sku": "A", "quantity": 1, "unitPrice": 500}],
    "payment": {"token": "tok"},
}


def detail(key: str = "key-1", request: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"idempotencyKey": key, "orderId": order_id_for(key), "request": request or REQUEST}


def home(
    record: ControlRecord | None,
    saga: FakeSaga | None = None,
    forwarder: Forwarder | None = None,
) -> IntakeDeps:
    """The home region's intake; ``record=None``: the control record cannot be read."""
    return IntakeDeps(
        region=HOME,
        control=FakeControl(record),
        saga=saga or FakeSaga(),
        forwarder=forwarder or FakeForwarder(),
    )


HOME_WRITES = ControlRecord(HOME, None, Mode.NORMAL)
FAILED_OVER = ControlRecord(NEW_PRIMARY, WRITE_URL, Mode.NORMAL)


# -- this region writes ----------------------------------------------------------------------


def test_while_this_region_writes_the_saga_starts_here_named_after_the_key() -> None:
    # Given the control record names this region, mode normal
    saga, forwarder = FakeSaga(), FakeForwarder()
    # When an OrderRequested is taken
    outcome = take(detail(), home(HOME_WRITES, saga, forwarder))
    # Then the order's saga started here and nothing was forwarded
    assert outcome.taken is Taken.STARTED
    assert list(saga.started) == [order_id_for("key-1")]
    assert forwarder.calls == []


def test_a_redelivered_request_is_the_same_order() -> None:
    # Given a request already taken
    deps = home(HOME_WRITES)
    take(detail(), deps)
    # When SQS delivers it again / Then it is recognised, not started twice
    assert take(detail(), deps).taken is Taken.SAME_ORDER


def test_a_reused_key_with_another_body_is_a_conflict_not_a_retry() -> None:
    # Given an order taken with key-1
    deps = home(HOME_WRITES)
    take(detail(), deps)
    # When key-1 comes with another body / Then it is reported as a conflict (logged, dropped)
    other = {**REQUEST, "items": [{"sku": "A", "quantity": 2, "unitPrice": 500}]}
    assert take(detail(request=other), deps).taken is Taken.CONFLICT


def test_an_invalid_request_starts_nothing_and_is_not_retried() -> None:
    # Given a request whose currency is not accepted
    saga = FakeSaga()
    # When it is taken
    outcome = take(detail(request={**REQUEST, "currency": "XXX"}), home(HOME_WRITES, saga))
    # Then no saga, and no retry either (no retry makes it valid)
    assert outcome.taken is Taken.INVALID
    assert saga.started == {}


@pytest.mark.parametrize("key", ["", None, 42, "k" * 2000, "a b", "k\n", " k"])
def test_a_key_the_api_would_refuse_starts_nothing_and_is_not_retried(key: Any) -> None:
    # Given an OrderRequested whose key POST /orders would answer 400 (empty, null, too
    # long, with a space or a trailing newline)
    saga, forwarder = FakeSaga(), FakeForwarder()
    event = {"idempotencyKey": key, "request": REQUEST}
    # When it is taken, here or where it would be forwarded to
    outcomes = [
        take(event, home(HOME_WRITES, saga, forwarder)),
        take(event, home(FAILED_OVER, saga, forwarder)),
    ]
    # Then it is dropped as invalid: no saga, nothing forwarded
    assert {o.taken for o in outcomes} == {Taken.INVALID}
    assert (saga.started, forwarder.calls) == ({}, [])


@pytest.mark.parametrize(
    "event",
    [
        {"request": REQUEST},
        {"idempotencyKey": "k-1"},
        {"idempotencyKey": "k-1", "request": None},
        {"idempotencyKey": "k-1", "request": json.dumps(REQUEST)},
        {"idempotencyKey": "k-1", "request": {**REQUEST, "extra": 1}},
        None,
        [],
        "text",
    ],
)
def test_a_request_the_api_would_refuse_starts_nothing_and_is_not_retried(event: Any) -> None:
    # Given an OrderRequested detail that is not what the write API publishes
    saga = FakeSaga()
    # When it is taken / Then it is dropped as invalid
    assert take(event, home(HOME_WRITES, saga)).taken is Taken.INVALID
    assert saga.started == {}


# -- another region writes -------------------------------------------------------------------


def test_after_a_failover_the_request_is_forwarded_to_the_new_primary_not_started_here() -> None:
    # Given the control record names eu-west-1 and its write URL
    saga, forwarder = FakeSaga(), FakeForwarder(Relayed(202, {"orderId": order_id_for("key-1")}))
    # When an OrderRequested is taken in the home region
    outcome = take(detail(), home(FAILED_OVER, saga, forwarder))
    # Then no saga started here, and eu-west-1 got the key and the request, signed for it
    assert outcome.taken is Taken.FORWARDED
    assert saga.started == {}
    [(url, region, headers, body)] = forwarder.calls
    assert (url, region) == (WRITE_URL, NEW_PRIMARY)
    assert headers == {"content-type": "application/json", "idempotency-key": "key-1"}
    assert json.loads(body) == REQUEST


@pytest.mark.parametrize("status", [400, 409])
def test_a_request_the_primary_refuses_is_done_not_retried(status: int) -> None:
    # Given the new primary refuses the request (invalid, or a reused key)
    forwarder = FakeForwarder(Relayed(status, {"error": {"code": "X"}}))
    # When it is taken / Then it is reported refused: retrying cannot change the answer
    outcome = take(detail(), home(FAILED_OVER, forwarder=forwarder))
    assert outcome.taken is Taken.REFUSED
    assert outcome.detail is not None and str(status) in outcome.detail


@pytest.mark.parametrize("status", [500, 502, 503, 403, 429])
def test_a_primary_that_answers_an_error_gets_the_request_again_later(status: int) -> None:
    # Given the new primary answers 5xx (or a 403/429 that waiting or a fix may clear)
    saga = FakeSaga()
    forwarder = FakeForwarder(Relayed(status, {}))
    # When the request is taken / Then it is to be retried, and nothing started here
    with pytest.raises(RetryLater, match=str(status)):
        take(detail(), home(FAILED_OVER, saga, forwarder))
    assert saga.started == {}


def test_an_unreachable_primary_gets_the_request_again_later() -> None:
    # Given the new primary does not answer
    saga = FakeSaga()
    # When the request is taken / Then it is to be retried, and nothing started here
    with pytest.raises(RetryLater, match="unreachable"):
        take(detail(), home(FAILED_OVER, saga, FakeForwarder(down=True)))
    assert saga.started == {}


def test_a_primary_without_a_write_url_gets_the_request_again_later() -> None:
    # Given the control record names another region but no write URL
    saga, forwarder = FakeSaga(), FakeForwarder()
    record = ControlRecord(NEW_PRIMARY, None, Mode.NORMAL)
    # When the request is taken / Then it is to be retried; nothing started, nothing sent
    with pytest.raises(RetryLater, match="no write URL"):
        take(detail(), home(record, saga, forwarder))
    assert (saga.started, forwarder.calls) == ({}, [])


# -- nobody may write ------------------------------------------------------------------------


@pytest.mark.parametrize("primary", [HOME, NEW_PRIMARY])
def test_read_only_mode_starts_nothing_and_sends_nothing(primary: str) -> None:
    # Given the control record says read-only (this region or another is primary)
    saga, forwarder = FakeSaga(), FakeForwarder()
    record = ControlRecord(primary, WRITE_URL, Mode.READ_ONLY)
    # When the request is taken / Then it is to be retried later
    with pytest.raises(RetryLater, match="read-only"):
        take(detail(), home(record, saga, forwarder))
    assert (saga.started, forwarder.calls) == ({}, [])


def test_an_unreadable_or_missing_control_record_starts_nothing() -> None:
    # Given the control record cannot be read (or does not exist)
    saga, forwarder = FakeSaga(), FakeForwarder()
    # When the request is taken / Then it is to be retried: who writes is unknown
    with pytest.raises(RetryLater, match="control record"):
        take(detail(), home(None, saga, forwarder))
    assert (saga.started, forwarder.calls) == ({}, [])


# -- the handler: which records SQS delivers again -------------------------------------------


def sqs_event(*details: Any) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m{i}", "body": json.dumps({"detail": d})} for i, d in enumerate(details)
        ]
    }


def run(deps: IntakeDeps, event: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(intake_handler, "dependencies", lambda: deps)
    result = intake_handler.handler(event, lambda_context())
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


def test_the_handler_reports_every_record_it_could_not_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a read-only control record
    deps = home(ControlRecord(HOME, None, Mode.READ_ONLY))
    # When a batch of three arrives / Then all three are delivered again: none is dropped
    assert run(deps, sqs_event(detail("a"), detail("b"), detail("c")), monkeypatch) == [
        "m0",
        "m1",
        "m2",
    ]


def test_the_handler_retries_only_what_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given this region writes but Step Functions is down for one order of the batch
    saga = FakeSaga()
    starts = saga.start

    def start(order_id: str, fingerprint: str, saga_input: dict[str, Any]) -> Any:
        if order_id == order_id_for("c"):
            raise PrimaryUnreachable("throttled")
        return starts(order_id, fingerprint, saga_input)

    saga.start = start  # type: ignore[method-assign]
    event = sqs_event(detail("a"), detail("b", {**REQUEST, "currency": "XXX"}), detail("c"))
    # When the batch is taken
    failures = run(home(HOME_WRITES, saga), event, monkeypatch)
    # Then the good one started, the invalid one is dropped, the one that failed is retried
    assert list(saga.started) == [order_id_for("a")]
    assert failures == ["m2"]


@pytest.mark.parametrize(
    "body", ["not json", "[]", "null", json.dumps({"no": "detail"}), "[" * 5000 + "]" * 5000]
)
def test_a_message_that_is_not_an_order_requested_event_is_dropped_with_a_log_line(
    body: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given this region writes, and a message that is no EventBridge event at all
    saga = FakeSaga()
    event = {"Records": [{"messageId": "m0", "body": body}]}
    # When it is taken
    failures = run(home(HOME_WRITES, saga), event, monkeypatch)
    # Then it is not delivered again (no retry makes it an event), nothing started, and
    # a warning says it was dropped
    assert failures == []
    assert saga.started == {}
    assert any(r.levelname == "WARNING" and "dropping" in r.getMessage() for r in caplog.records)


def test_a_primary_down_is_called_once_per_batch_and_every_record_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the new primary is unreachable
    forwarder = FakeForwarder(down=True)
    deps = home(FAILED_OVER, forwarder=forwarder)
    # When a batch of three arrives
    failures = run(deps, sqs_event(detail("a"), detail("b"), detail("c")), monkeypatch)
    # Then all three are retried, after one attempt only (the batch fits the Lambda timeout)
    assert failures == ["m0", "m1", "m2"]
    assert len(forwarder.calls) == 1


def test_a_batch_forwarder_remembers_a_down_primary_only_for_its_batch() -> None:
    # Given a primary that was down during one batch
    inner = FakeForwarder(down=True)
    with pytest.raises(RetryLater):
        take(detail(), home(FAILED_OVER, forwarder=BatchForwarder(inner)))
    # When it is back for the next batch, which has a forwarder of its own
    inner.down = False
    outcome = take(detail(), home(FAILED_OVER, forwarder=BatchForwarder(inner)))
    # Then the request reaches it
    assert outcome.taken is Taken.FORWARDED
    assert len(inner.calls) == 2


# -- the environment -------------------------------------------------------------------------


def test_intake_settings_need_the_table_of_the_control_record() -> None:
    with pytest.raises(SettingsError, match="TABLE_NAME"):
        IntakeSettings.from_env({"AWS_REGION": HOME, "STATE_MACHINE_ARN": "arn"})


def test_intake_settings_cap_the_control_cache_at_ten_seconds() -> None:
    env = {
        "AWS_REGION": HOME,
        "STATE_MACHINE_ARN": "arn",
        "TABLE_NAME": "orders",
        "CONTROL_CACHE_SECONDS": "60",
    }
    settings = IntakeSettings.from_env(env)
    assert (settings.control_cache_seconds, settings.forward_timeout_seconds) == (10.0, 3.0)
