"""The scheduled outbox drainer on real PostgreSQL, with the bus in memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pg8000.native
import pytest

from functions.orders.db import Database, DatabaseSettings
from functions.orders.domain import OrderStatus
from functions.orders.migrations import migrate
from functions.orders.outbox import OutboxEvent
from functions.orders.store import PostgresOrderStore
from functions.outbox_drain import handler as drainer
from tests.support.lambda_context import lambda_context

pytestmark = pytest.mark.postgres
REQUEST = {
    "customerId": "c-1",
    "currency": "EUR",
    "items": [{"sku": "A", "quantity": 1, "unitPrice": 900}],
    "payment": {"token": "t"},
}


@dataclass
class Bus:
    """Takes every event, unless down."""

    down: bool = False
    taken: list[str] = field(default_factory=list)

    def publish_batch(self, events: Sequence[OutboxEvent]) -> list[str | None]:
        if self.down:
            return ["ServiceUnavailable"] * len(events)
        self.taken.extend(e.detail_type for e in events)
        return [None] * len(events)


@pytest.fixture
def bus(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bus]:
    migrate(Database(DatabaseSettings.from_env({"DATABASE_URL": postgres_dsn})))
    monkeypatch.setenv("DATABASE_URL", postgres_dsn)
    the_bus = Bus()
    monkeypatch.setattr(drainer, "publisher", lambda: the_bus)
    drainer.database.cache_clear()
    yield the_bus
    drainer.database().close()
    drainer.database.cache_clear()


def store() -> PostgresOrderStore:
    return PostgresOrderStore(drainer.database())


def test_the_drainer_publishes_what_waits_and_reports_nothing_pending(bus: Bus) -> None:
    # Given an order whose events the steps could not publish
    store().reserve("o-1", "f", REQUEST, 900)
    # When the schedule runs the drainer
    report = drainer.handler({}, lambda_context())
    # Then the events are on the bus and none waits
    assert bus.taken == ["OrderPlaced"]
    assert (report["published"], report["pending"]) == (1, 0)


def test_the_drainer_fails_while_the_bus_refuses_so_that_someone_is_paged(bus: Bus) -> None:
    # Given events waiting, and a bus that refuses them
    store().reserve("o-1", "f", REQUEST, 900)
    bus.down = True
    # When the drainer runs / Then the invocation fails, saying how many wait and why
    with pytest.raises(drainer.OutboxNotDrained, match=r"1 events wait.*ServiceUnavailable"):
        drainer.handler({}, lambda_context())


def test_the_drainer_reports_failed_orders_that_still_hold_money(
    bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order captured, then FAILED, and never refunded (a compensation gave up)
    orders = store()
    orders.reserve("o-held", "f", REQUEST, 900)
    orders.advance(
        "o-held",
        "AuthorizePayment",
        OrderStatus.AUTHORIZED,
        "AUTHORIZED",
        "PaymentAuthorized",
        authorization_id="a",
    )
    orders.advance("o-held", "CapturePayment", OrderStatus.CAPTURED, "CAPTURED", "PaymentCaptured")
    orders.fail("o-held", "CustomerRejected: blocked")
    monkeypatch.setattr(drainer, "HELD_MONEY_GRACE_SECONDS", 0)
    # When the drainer runs / Then it fails naming the order, although every event went out
    with pytest.raises(drainer.OutboxNotDrained, match="o-held"):
        drainer.handler({}, lambda_context())
    assert "OrderFailed" in bus.taken


def test_where_the_cluster_does_not_take_writes_the_drainer_does_nothing(
    bus: Bus, postgres_dsn: str
) -> None:
    # Given events waiting in a database this region can only read (a secondary's cluster)
    store().reserve("o-1", "f", REQUEST, 900)
    drainer.database().close()
    parts = urlsplit(postgres_dsn)
    admin = pg8000.native.Connection(
        user=parts.username or "postgres", host=parts.hostname or "", port=parts.port or 5432
    )
    name = parts.path.lstrip("/")
    admin.run(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    admin.close()
    # When the drainer runs / Then it skips, and publishes nothing
    assert drainer.handler({}, lambda_context()) == {
        "skipped": "this region's cluster does not take writes"
    }
    assert bus.taken == []
