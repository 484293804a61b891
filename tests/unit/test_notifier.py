"""The notifier over fakes: which changes are announced, to whom, and what a failure does."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from functions.notifier.handler import StreamNotifier
from functions.notifier.notify import OrderNotifier, OrderUpdate, changed_order
from functions.orders.read_model import (
    CORRELATION_ATTRIBUTE,
    VERSION_ATTRIBUTE,
    VIEW_ATTRIBUTE,
    control_key,
    customer_order_key,
    order_key,
)
from tests.support.read_side import a_view

_serialize = TypeSerializer().serialize


class FakeSubscriptions:
    """Connections by customer, in memory."""

    def __init__(self, by_customer: dict[str, list[str]]) -> None:
        self.by_customer = by_customer
        self.disconnected: list[str] = []

    def subscribers(self, customer_id: str) -> Iterable[str]:
        return list(self.by_customer.get(customer_id, []))

    def disconnect(self, connection_id: str) -> None:
        self.disconnected.append(connection_id)
        for connections in self.by_customer.values():
            if connection_id in connections:
                connections.remove(connection_id)


class FakePusher:
    """Records messages; connections in ``gone`` answer 410."""

    def __init__(self, gone: set[str] | None = None) -> None:
        self.gone = gone or set()
        self.sent: dict[str, list[Any]] = {}

    def push(self, connection_id: str, data: bytes) -> bool:
        if connection_id in self.gone:
            return False
        self.sent.setdefault(connection_id, []).append(json.loads(data))
        return True


class FakePublisher:
    """Records published views; fails for the order ids in ``refuse``."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.published: list[Mapping[str, Any]] = []

    def publish(self, view: Mapping[str, Any], correlation_id: str | None = None) -> None:
        if view["orderId"] in self.refuse:
            raise RuntimeError("AppSync refused")
        self.published.append(view)


class FakeOnce:
    """Remembers the keys of deliveries that succeeded, as the idempotency table does."""

    def __init__(self) -> None:
        self.done: dict[str, int] = {}

    def __call__(self, key: Mapping[str, Any], deliver: Callable[[], int]) -> int:
        name = json.dumps(dict(key), sort_keys=True)
        if name not in self.done:
            self.done[name] = deliver()
        return self.done[name]


class FlakyPublisher(FakePublisher):
    """Fails its first ``failures`` calls, then publishes."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def publish(self, view: Mapping[str, Any], correlation_id: str | None = None) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("AppSync answered HTTP 500")
        super().publish(view, correlation_id)


class BrokenPusher(FakePusher):
    """Every push fails with something other than 410 (API Gateway throttling, say)."""

    def push(self, connection_id: str, data: bytes) -> bool:
        raise RuntimeError("LimitExceededException")


def notifier(
    subs: FakeSubscriptions, pusher: FakePusher, publisher: FakePublisher
) -> OrderNotifier:
    return OrderNotifier(subs, pusher, publisher, FakeOnce())


def update(view: dict[str, Any], version: int = 1) -> OrderUpdate:
    return OrderUpdate(view, version)


def image(key: dict[str, str], view: dict[str, Any] | None, version: int) -> dict[str, Any]:
    item: dict[str, Any] = {**key, VERSION_ATTRIBUTE: version}
    if view is not None:
        item[VIEW_ATTRIBUTE] = view
    return item


def stream_record(
    key: dict[str, str],
    new: dict[str, Any] | None,
    old: dict[str, Any] | None = None,
    sequence: str = "1",
) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda delivers it."""
    body: dict[str, Any] = {
        "Keys": {k: _serialize(v) for k, v in key.items()},
        "SequenceNumber": sequence,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        body["NewImage"] = {k: _serialize(v) for k, v in new.items()}
    if old is not None:
        body["OldImage"] = {k: _serialize(v) for k, v in old.items()}
    name = "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY")
    return {
        "eventID": sequence,
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": body,
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/x",
    }


def test_a_new_view_item_is_announced_as_the_api_view():
    # Given a stream change that inserts an order's view item
    view = a_view("o-1")
    # When the notifier decides what to announce
    announced = changed_order(order_key("o-1"), image(order_key("o-1"), view, 1), None)
    # Then it is the API view at that version
    assert announced == OrderUpdate(view, 1)


def test_the_order_list_copy_of_a_view_is_not_announced_twice():
    # Given the change to the customer's order-list item that accompanies every view write
    key = customer_order_key("c-1", "2024-05-01T10:00:00Z", "o-1")
    # When the notifier decides what to announce
    announced = changed_order(key, image(key, a_view("o-1"), 1), None)
    # Then nothing: the view item's own change is announced instead
    assert announced is None


def test_a_change_that_does_not_raise_the_version_is_not_announced():
    # Given a rewrite of a view at the same version (a replay, or a TTL touch)
    key = order_key("o-1")
    # When the notifier decides what to announce
    announced = changed_order(key, image(key, a_view("o-1"), 3), image(key, a_view("o-1"), 3))
    # Then clients hear nothing
    assert announced is None


def test_a_deleted_view_and_the_control_record_are_not_announced():
    # Given a removal of a view, and a change of the control record
    # When the notifier decides what to announce
    removal = changed_order(order_key("o-1"), None, image(order_key("o-1"), a_view("o-1"), 1))
    control = changed_order(control_key(), image(control_key(), None, 1), None)
    # Then neither is an order update
    assert (removal, control) == (None, None)


def test_an_update_reaches_every_connection_of_that_customer_and_no_other():
    # Given two connections following c-1 and one following c-2
    subs = FakeSubscriptions({"c-1": ["a", "b"], "c-2": ["c"]})
    pusher, publisher = FakePusher(), FakePublisher()
    # When an order of c-1 changes
    notifier(subs, pusher, publisher).notify(update(a_view("o-1", "c-1")))
    # Then both c-1 connections get {type, order}, c-2's gets nothing, and AppSync gets it too
    expected = {"type": "orderUpdated", "order": a_view("o-1", "c-1")}
    assert pusher.sent == {"a": [expected], "b": [expected]}
    assert publisher.published == [a_view("o-1", "c-1")]


def test_a_gone_connection_is_deleted_and_the_others_still_get_the_update():
    # Given two connections of c-1, one of which has gone away (410)
    subs = FakeSubscriptions({"c-1": ["gone", "live"]})
    pusher = FakePusher(gone={"gone"})
    # When an order of c-1 changes
    notifier(subs, pusher, FakePublisher()).notify(update(a_view("o-1", "c-1")))
    # Then the gone one is deleted and the live one got the update
    assert subs.disconnected == ["gone"]
    assert list(pusher.sent) == ["live"]


def test_only_the_record_that_failed_is_reported_for_retry():
    # Given a batch of two view changes, where publishing the second one fails
    publisher = FakePublisher(refuse={"o-2"})
    stream = StreamNotifier(notifier(FakeSubscriptions({}), FakePusher(), publisher))
    records = [
        stream_record(
            order_key(f"o-{n}"), image(order_key(f"o-{n}"), a_view(f"o-{n}"), 1), sequence=str(n)
        )
        for n in (1, 2)
    ]
    # When the batch is processed
    response = stream.handle({"Records": records}, None)
    # Then only the second record is reported as failed, and the first was published
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert [v["orderId"] for v in publisher.published] == ["o-1"]


def test_a_retry_after_a_failed_publish_does_not_push_to_websocket_subscribers_again():
    # Given two subscribers of c-1 and an AppSync publish that fails once
    subs = FakeSubscriptions({"c-1": ["a", "b"]})
    pusher, publisher = FakePusher(), FlakyPublisher(failures=1)
    orders = notifier(subs, pusher, publisher)
    # When the update is delivered, fails, and the stream retries it
    with pytest.raises(RuntimeError):
        orders.notify(update(a_view("o-1", "c-1"), version=2))
    orders.notify(update(a_view("o-1", "c-1"), version=2))
    # Then each subscriber got it exactly once, and AppSync got it once
    expected = {"type": "orderUpdated", "order": a_view("o-1", "c-1")}
    assert pusher.sent == {"a": [expected], "b": [expected]}
    assert publisher.published == [a_view("o-1", "c-1")]


def test_a_failed_websocket_push_does_not_hold_back_the_appsync_subscribers():
    # Given a subscriber of c-1 whose pushes fail
    subs = FakeSubscriptions({"c-1": ["a"]})
    publisher = FakePublisher()
    # When an update is delivered
    with pytest.raises(RuntimeError):
        notifier(subs, BrokenPusher(), publisher).notify(update(a_view("o-1", "c-1")))
    # Then AppSync subscribers got it anyway, and the failure is raised so the record retries
    assert publisher.published == [a_view("o-1", "c-1")]


def test_a_newer_version_of_the_same_order_is_delivered_again():
    # Given an update of o-1 that was delivered
    subs = FakeSubscriptions({"c-1": ["a"]})
    pusher, publisher = FakePusher(), FakePublisher()
    orders = notifier(subs, pusher, publisher)
    orders.notify(update(a_view("o-1", "c-1", status="PENDING"), version=1))
    # When its next version arrives
    orders.notify(update(a_view("o-1", "c-1", status="CONFIRMED"), version=2))
    # Then subscribers hear both, in order
    assert [m["order"]["status"] for m in pusher.sent["a"]] == ["PENDING", "CONFIRMED"]
    assert [v["status"] for v in publisher.published] == ["PENDING", "CONFIRMED"]


def test_a_subscriber_gets_the_correlation_id_of_the_request_that_changed_the_order():
    # Given a view item projected from the event of a request with a correlation id
    view = a_view("o-1", "cust-1")
    key = order_key("o-1")
    new = {**image(key, view, 2), CORRELATION_ATTRIBUTE: "checkout-42"}
    subs = FakeSubscriptions({"cust-1": ["c1"]})
    pusher = FakePusher()
    # When the stream delivers the change
    StreamNotifier(notifier(subs, pusher, FakePublisher())).handle(
        {"Records": [stream_record(key, new)]}, None
    )
    # Then the WebSocket message names the request, beside the order's API view
    [message] = pusher.sent["c1"]
    assert message["correlationId"] == "checkout-42"
    assert message["order"] == view


def test_an_item_with_no_usable_correlation_id_is_pushed_without_one():
    view = a_view("o-1", "cust-1")
    key = order_key("o-1")
    for kept in ({}, {CORRELATION_ATTRIBUTE: "has spaces in it"}):
        update = changed_order(key, {**image(key, view, 1), **kept}, None)
        assert update is not None and update.correlation_id is None
