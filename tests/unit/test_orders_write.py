"""place_order: the write API's decisions, with every port in memory."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions import synthetic
from functions.orders.domain import order_id_for
from functions.orders.ports import ControlRecord, Mode, Relayed
from functions.orders.write import WriteDeps, place_order
from tests.unit.orders_fakes import FakeControl, FakeForwarder, FakePublisher, FakeSaga

BODY = json.dumps(
    {
        "customerId": "c1",
        "currency": "EUR",
        "items": [{"sku": "A", "quantity": 1, "unitPrice": 500}],
        "payment": {"token": "tok"},
    }
)
KEY = {"Idempotency-Key": "key-1"}


def primary(**kw: Any) -> WriteDeps:
    return WriteDeps(
        region="eu-west-1",
        control=kw.pop("control", FakeControl()),
        saga=kw.pop("saga", FakeSaga()),
        forwarder=FakeForwarder(),
        **kw,
    )


def secondary(forwarder: FakeForwarder | None = None, **kw: Any) -> WriteDeps:
    return WriteDeps(
        region="us-east-1",
        control=kw.pop("control", FakeControl()),
        saga=FakeSaga(),
        forwarder=forwarder or FakeForwarder(),
        **kw,
    )


def test_the_primary_starts_the_saga_named_after_the_key_and_answers_202() -> None:
    # Given the primary
    saga = FakeSaga()
    # When an order is posted
    response = place_order(KEY, BODY, primary(saga=saga))
    # Then a saga named after the key started and the answer says PENDING
    assert response.status == 202
    assert response.body == {
        "orderId": order_id_for("key-1"),
        "status": "PENDING",
        "region": "eu-west-1",
        "primaryRegion": "eu-west-1",
    }
    assert list(saga.started) == [order_id_for("key-1")]


def test_a_retry_with_the_same_key_and_body_is_the_same_order() -> None:
    # Given an order already posted
    deps = primary()
    first = place_order(KEY, BODY, deps)
    # When the client retries with the body spaced differently
    again = place_order(KEY, json.dumps(json.loads(BODY), indent=2), deps)
    # Then it is accepted again with the same order id
    assert (again.status, again.body["orderId"]) == (202, first.body["orderId"])


def test_the_same_key_with_another_body_is_a_409() -> None:
    # Given an order already posted
    deps = primary()
    place_order(KEY, BODY, deps)
    # When the key is reused for another order
    other = json.loads(BODY)
    other["items"][0]["quantity"] = 2
    response = place_order(KEY, json.dumps(other), deps)
    # Then it is a conflict
    assert (response.status, response.body["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")


def test_a_secondary_forwards_with_the_same_key_and_relays_the_202() -> None:
    # Given a secondary whose primary accepts
    forwarder = FakeForwarder(Relayed(202, {"orderId": order_id_for("key-1")}))
    # When an order is posted there
    response = place_order(KEY, BODY, secondary(forwarder))
    # Then the primary got it with the same key and the client gets a 202
    assert forwarder.calls[0][0] == "https://primary/internal/orders"
    assert forwarder.calls[0][2]["idempotency-key"] == "key-1"
    assert response.status == 202
    assert response.body["primaryRegion"] == "eu-west-1"


def test_a_secondary_relays_the_primarys_409() -> None:
    # Given a primary that answers 409
    conflict = {"error": {"code": "IDEMPOTENCY_KEY_REUSED", "message": "m", "field": "k"}}
    forwarder = FakeForwarder(Relayed(409, conflict))
    # When forwarded / Then the client sees the primary's answer
    assert place_order(KEY, BODY, secondary(forwarder)).status == 409


def test_a_secondary_whose_primary_is_down_is_read_only_with_retry_after() -> None:
    # Given an unreachable primary
    deps = secondary(FakeForwarder(down=True))
    # When an order is posted
    response = place_order(KEY, BODY, deps)
    # Then 503 READ_ONLY with Retry-After, never a 202
    assert response.status == 503
    assert response.body["error"]["code"] == "READ_ONLY"
    assert response.headers["retry-after"] == "30"


def test_a_primary_5xx_is_read_only_not_relayed() -> None:
    # Given a primary that answers 502
    deps = secondary(FakeForwarder(Relayed(502, {"message": "bad gateway"})))
    # When forwarded / Then the client is told writes are closed
    assert place_order(KEY, BODY, deps).body["error"]["code"] == "READ_ONLY"


def test_the_control_record_in_read_only_mode_refuses_writes_even_in_the_primary() -> None:
    # Given the control record says read-only
    saga = FakeSaga()
    control = FakeControl(ControlRecord("eu-west-1", None, Mode.READ_ONLY))
    # When an order is posted to the primary
    response = place_order(KEY, BODY, primary(control=control, saga=saga))
    # Then it is refused and no saga started
    assert response.status == 503 and saga.started == {}


def test_an_unreadable_control_record_is_read_only() -> None:
    # Given the control record cannot be read
    # When an order is posted / Then nothing is accepted blind
    assert place_order(KEY, BODY, primary(control=FakeControl(None))).status == 503


def test_a_forwarded_write_reaching_a_non_primary_is_not_forwarded_again() -> None:
    # Given a secondary receiving a write on the internal route (control record moved)
    forwarder = FakeForwarder()
    # When it handles it
    response = place_order(KEY, BODY, secondary(forwarder), forwarded=True)
    # Then it does not forward (no loop) and answers read-only
    assert response.status == 503 and forwarder.calls == []


def test_async_mode_puts_the_request_on_the_bus_instead_of_forwarding() -> None:
    # Given a secondary in async mode, deployed with the primary the control record names
    publisher, forwarder = FakePublisher(), FakeForwarder()
    deps = secondary(
        forwarder, publisher=publisher, async_mode=True, deployed_primary_region="eu-west-1"
    )
    # When an order is posted
    response = place_order(KEY, BODY, deps)
    # Then the event is on the bus, nothing forwarded, and the client gets 202
    assert publisher.events == [("key-1", order_id_for("key-1"))]
    assert forwarder.calls == [] and response.status == 202


def test_writes_go_only_to_the_current_primary_so_after_a_failover_async_mode_forwards() -> None:
    # Given a secondary deployed in async mode with eu-west-1 as primary (its bus rule forwards
    # there), and a failover that made ap-southeast-2 the primary in the control record
    publisher = FakePublisher()
    forwarder = FakeForwarder(Relayed(202, {"orderId": order_id_for("key-1")}))
    moved = ControlRecord("ap-southeast-2", "https://new-primary/internal/orders", Mode.NORMAL)
    deps = secondary(
        forwarder,
        control=FakeControl(moved),
        publisher=publisher,
        async_mode=True,
        deployed_primary_region="eu-west-1",
    )
    # When an order is posted there
    response = place_order(KEY, BODY, deps)
    # Then nothing went on the bus toward the old primary; the new primary took it synchronously
    assert publisher.events == []
    assert [(url, region) for url, region, _, _ in forwarder.calls] == [
        ("https://new-primary/internal/orders", "ap-southeast-2")
    ]
    assert (response.status, response.body["primaryRegion"]) == (202, "ap-southeast-2")


def test_async_mode_after_a_failover_with_the_new_primary_down_is_read_only() -> None:
    # Given an async secondary after a failover, and a new primary that cannot be reached
    publisher = FakePublisher()
    moved = ControlRecord("ap-southeast-2", "https://new-primary/internal/orders", Mode.NORMAL)
    deps = secondary(
        FakeForwarder(down=True),
        control=FakeControl(moved),
        publisher=publisher,
        async_mode=True,
        deployed_primary_region="eu-west-1",
    )
    # When an order is posted
    response = place_order(KEY, BODY, deps)
    # Then it is refused for now, and never published toward the old primary
    assert (response.status, response.body["error"]["code"]) == (503, "READ_ONLY")
    assert publisher.events == []


headers = st.dictionaries(
    st.sampled_from(["Idempotency-Key", "idempotency-key", "X", "Content-Type"]),
    st.text(max_size=300),
    max_size=3,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "customerId",
                    "currency",
                    "items",
                    "payment",
                    "sku",
                    "quantity",
                    "unitPrice",
                    "token",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)
bodies = (
    st.none()
    | st.text(max_size=200)
    | st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v))
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(headers=headers, body=bodies, in_primary=st.booleans(), down=st.booleans())
def test_no_input_ever_produces_a_500(
    headers: dict[str, str], body: Any, in_primary: bool, down: bool
) -> None:
    # Given any headers and body, in either role, with the primary up or down
    deps = primary() if in_primary else secondary(FakeForwarder(down=down))
    # When posted
    response = place_order(headers, body, deps)
    # Then the answer is a client error, an acceptance, or read-only; never a server error
    assert response.status in {202, 400, 409, 413, 503}
    if response.status == 503:
        assert response.body["error"]["code"] == "READ_ONLY"


class StoredFingerprints:
    """The fingerprints the views in the global table hold, by order id."""

    def __init__(self, **by_key: str) -> None:
        self.by_order = {order_id_for(key): fingerprint for key, fingerprint in by_key.items()}

    def fingerprint(self, order_id: str) -> str | None:
        return self.by_order.get(order_id)


def fingerprint_of(body: str) -> str:
    from functions.orders.domain import parse_order_request

    return parse_order_request(body).fingerprint()


def test_a_key_whose_order_holds_another_fingerprint_is_409_without_a_saga() -> None:
    # Given a primary with no execution of the order (a failover), whose view of the order
    # holds the fingerprint of another body
    saga = FakeSaga()
    deps = primary(saga=saga, orders=StoredFingerprints(**{"key-1": "another body"}))
    # When the key comes again
    response = place_order(KEY, BODY, deps)
    # Then it is the documented 409, and no saga starts
    assert (response.status, response.body["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert saga.started == {}


def test_the_order_s_own_fingerprint_makes_a_retry_the_same_order_whatever_ran_here() -> None:
    # Given the order's view holds this body's fingerprint, while this region's execution
    # of that name ran another body (refused by its ReserveOrder)
    saga = FakeSaga(started={order_id_for("key-1"): "another body"})
    deps = primary(saga=saga, orders=StoredFingerprints(**{"key-1": fingerprint_of(BODY)}))
    # When the client retries / Then it is the same order, accepted
    response = place_order(KEY, BODY, deps)
    assert (response.status, response.body["orderId"]) == (202, order_id_for("key-1"))


def test_an_order_not_yet_in_the_views_is_told_by_this_region_s_executions() -> None:
    # Given an order accepted here a moment ago, not projected yet
    deps = primary(orders=StoredFingerprints())
    place_order(KEY, BODY, deps)
    other = json.loads(BODY)
    other["items"][0]["quantity"] = 2
    # When its key comes with another body / Then the execution's input tells: 409
    assert place_order(KEY, json.dumps(other), deps).status == 409


SYNTHETIC_BODY = json.dumps({**json.loads(BODY), "customerId": synthetic.CUSTOMER_ID})


def test_a_secondary_forwards_a_synthetic_order_saying_so_and_never_puts_it_on_the_bus() -> None:
    # Given a secondary in async mode, whose bus would take real orders
    forwarder, publisher = FakeForwarder(), FakePublisher()
    deps = secondary(
        forwarder, publisher=publisher, async_mode=True, deployed_primary_region="eu-west-1"
    )
    # When the write canary's order comes in on its route
    response = place_order(KEY, SYNTHETIC_BODY, deps, is_synthetic=True)
    # Then it went straight to the primary's internal route, marked synthetic
    assert response.status == 202
    [(url, region, headers, _)] = forwarder.calls
    assert (url, region) == ("https://primary/internal/orders", "eu-west-1")
    assert headers[synthetic.HEADER] == "true"
    assert publisher.events == []


def test_a_secondary_forwards_a_real_order_without_the_synthetic_mark() -> None:
    forwarder = FakeForwarder()
    place_order(KEY, BODY, secondary(forwarder))
    [(_, _, headers, _)] = forwarder.calls
    assert synthetic.HEADER not in headers


def test_the_primary_starts_a_synthetic_orders_saga_marked_synthetic() -> None:
    # Given the primary
    saga = FakeSaga()
    # When the write canary's order comes in on its route
    place_order(KEY, SYNTHETIC_BODY, primary(saga=saga), is_synthetic=True)
    # Then the saga's input says synthetic, which its steps read
    assert saga.inputs[order_id_for("key-1")][synthetic.FIELD] is True


def test_a_real_orders_saga_input_does_not_say_synthetic() -> None:
    saga = FakeSaga()
    place_order(KEY, BODY, primary(saga=saga))
    assert synthetic.FIELD not in saga.inputs[order_id_for("key-1")]
