"""The scheduled outbox drainer on real PostgreSQL, with the bus in memory."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pg8000.native
import pytest

from functions import synthetic
from functions.orders.db import Database, DatabaseSettings
from functions.orders.domain import OrderStatus
from functions.orders.migrations import MIGRATIONS_DIR, migrate
from functions.orders.settings import OutboxDrainSettings
from functions.orders.store import PostgresOrderStore, PostgresOutbox
from functions.outbox_drain import handler as drainer
from tests.support.bus import MemoryBus
from tests.support.lambda_context import lambda_context

pytestmark = pytest.mark.postgres
REQUEST = {
    "customerId": "c-1",
    "currency": "EUR",
    "items": [{"sku": "A", "quantity": 1, "unitPrice": 900}],
    "payment": {"token": "t"},
}


@pytest.fixture
def bus(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryBus]:
    migrate(Database(DatabaseSettings.from_env({"DATABASE_URL": postgres_dsn})))
    monkeypatch.setenv("DATABASE_URL", postgres_dsn)
    the_bus = MemoryBus()
    monkeypatch.setattr(drainer, "publisher", lambda: the_bus)
    monkeypatch.setattr(drainer, "settings", lambda: OutboxDrainSettings("eu-west-1", "orders"))
    drainer.database.cache_clear()
    yield the_bus
    drainer.database().close()
    drainer.database.cache_clear()


def store() -> PostgresOrderStore:
    return PostgresOrderStore(drainer.database())


def test_the_drainer_publishes_what_waits_and_reports_nothing_pending(bus: MemoryBus) -> None:
    # Given an order whose events the steps could not publish
    store().reserve("o-1", "f", REQUEST, 900)
    # When the schedule runs the drainer
    report = drainer.handler({}, lambda_context())
    # Then the events are on the bus and none waits
    assert bus.taken == ["OrderPlaced"]
    assert (report["published"], report["pending"]) == (1, 0)


def test_the_drainer_fails_while_the_bus_refuses_so_that_someone_is_paged(bus: MemoryBus) -> None:
    # Given events waiting, and a bus that refuses them
    store().reserve("o-1", "f", REQUEST, 900)
    bus.down = True
    # When the drainer runs / Then the invocation fails, saying how many wait and why
    with pytest.raises(drainer.OutboxNotDrained, match=r"1 events wait.*ServiceUnavailable"):
        drainer.handler({}, lambda_context())


def test_the_drainer_reports_failed_orders_that_still_hold_money(
    bus: MemoryBus, monkeypatch: pytest.MonkeyPatch
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
    bus: MemoryBus, postgres_dsn: str
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


def test_published_events_leave_the_outbox_after_the_retention_and_pending_ones_never(
    bus: MemoryBus,
) -> None:
    # Given three orders' events, all published, and one more event still waiting
    for order_id in ("o-old", "o-edge", "o-new"):
        store().reserve(order_id, "f", REQUEST, 900)
    drainer.handler({}, lambda_context())
    store().reserve("o-waiting", "f", REQUEST, 900)
    connection = drainer.database().connection()
    connection.run(
        "UPDATE outbox SET published_at = now() - interval '30 days' WHERE order_id = 'o-old'"
    )
    connection.run(
        "UPDATE outbox SET published_at = now() - interval '6 days 23 hours' "
        "WHERE order_id = 'o-edge'"
    )
    # (the waiting event is older than the retention too, and the bus refuses it)
    connection.run(
        "UPDATE outbox SET created_at = now() - interval '30 days' WHERE order_id = 'o-waiting'"
    )
    bus.down = True
    # When the drainer runs with the default retention (7 days)
    with pytest.raises(drainer.OutboxNotDrained):
        drainer.handler({}, lambda_context())
    # Then only the event published 30 days ago is gone
    left = connection.run("SELECT order_id, published_at IS NULL FROM outbox ORDER BY seq")
    assert left == [["o-edge", False], ["o-new", False], ["o-waiting", True]]


def test_a_run_prunes_at_most_one_batch(bus: MemoryBus) -> None:
    # Given more old published events than one run deletes
    for n in range(5):
        store().reserve(f"o-{n}", "f", REQUEST, 900)
    drainer.handler({}, lambda_context())
    connection = drainer.database().connection()
    connection.run("UPDATE outbox SET published_at = now() - interval '30 days'")
    outbox = PostgresOutbox(drainer.database())
    # When the outbox is pruned with a batch of 2, twice
    # Then each run deletes the two oldest, and nothing else
    assert outbox.prune(7 * 86_400, limit=2) == 2
    assert outbox.prune(7 * 86_400, limit=2) == 2
    assert [o for [o] in connection.run("SELECT order_id FROM outbox")] == ["o-4"]


SYNTHETIC = {**REQUEST, "customerId": synthetic.CUSTOMER_ID}


def order_tables() -> tuple[str, ...]:
    """Every table of the write model with an order_id column, as the migrations made them."""
    rows = (
        drainer.database()
        .connection()
        .run(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'order_id' "
            "AND table_schema = 'public' ORDER BY table_name"
        )
    )
    return tuple(str(name) for [name] in rows)


def rows_of(order_id: str) -> dict[str, int]:
    """How many rows each table of the write model holds for the order."""
    connection = drainer.database().connection()
    return {
        table: connection.run(f"SELECT count(*) FROM {table} WHERE order_id = :o", o=order_id)[0][0]
        for table in order_tables()
    }


def place(order_id: str, request: dict[str, object], status: str, age: str) -> None:
    """An order with one saga step noted, then made ``status`` and placed ``age`` ago."""
    store().reserve(order_id, "f", request, 900)
    store().note(order_id, "ReserveOrder", "reserved")
    drainer.database().connection().run(
        "UPDATE orders SET status = :s, created_at = now() - CAST(:a AS interval) "
        "WHERE order_id = :o",
        s=status,
        a=age,
        o=order_id,
    )


def confirmed(order_id: str, age: str) -> None:
    """A synthetic order taken through every forward step (payment, ledger, customer)."""
    orders = store()
    orders.reserve(order_id, "f", SYNTHETIC, 900)
    orders.advance(order_id, "AuthorizePayment", OrderStatus.AUTHORIZED, "AUTHORIZED",
                   "PaymentAuthorized", authorization_id="a")  # fmt: skip
    orders.advance(order_id, "CapturePayment", OrderStatus.CAPTURED, "CAPTURED",
                   "PaymentCaptured", capture_id="c")  # fmt: skip
    orders.confirm(order_id)
    drainer.database().connection().run(
        "UPDATE orders SET created_at = now() - CAST(:a AS interval) WHERE order_id = :o",
        a=age,
        o=order_id,
    )
    held = rows_of(order_id)
    assert len(held) >= 6 and all(held.values()), held


def test_the_canarys_old_ended_orders_are_deleted_with_every_row_and_nothing_else(
    bus: MemoryBus,
) -> None:
    # Given synthetic orders: confirmed 8 days ago, failed 8 days ago, confirmed yesterday,
    # still pending 8 days on; and a customer's order confirmed 30 days ago
    confirmed("syn-old", "8 days")
    place("syn-failed", SYNTHETIC, "PENDING", "8 days")
    drainer.database().connection().run(
        "UPDATE orders SET status = 'FAILED', failure_cause = 'declined' "
        "WHERE order_id = 'syn-failed'"
    )
    place("syn-new", SYNTHETIC, "CONFIRMED", "1 day")
    place("syn-pending", SYNTHETIC, "PENDING", "8 days")
    place("real-old", REQUEST, "CONFIRMED", "30 days")
    # When the drainer runs (and publishes every event first)
    report = drainer.handler({}, lambda_context())
    # Then the old ended synthetic orders are gone from every table, and they alone
    assert report["syntheticOrdersPruned"] == 2
    for gone in ("syn-old", "syn-failed"):
        assert set(rows_of(gone).values()) == {0}, gone
    for kept in ("syn-new", "syn-pending", "real-old"):
        assert rows_of(kept)["orders"] == 1, kept


def test_a_synthetic_order_with_an_event_still_to_publish_is_kept(bus: MemoryBus) -> None:
    # Given an old confirmed synthetic order whose event the bus has not taken
    place("syn-unpublished", SYNTHETIC, "CONFIRMED", "8 days")
    # When the canary's orders are pruned
    deleted = store().prune_synthetic(synthetic.RETENTION_SECONDS)
    # Then it stays, event and all
    assert deleted == 0
    assert rows_of("syn-unpublished")["outbox"] == 1
    # And once its event is published, it goes
    drainer.database().connection().run("UPDATE outbox SET published_at = now()")
    assert store().prune_synthetic(synthetic.RETENTION_SECONDS) == 1
    assert rows_of("syn-unpublished")["orders"] == 0


def test_the_prune_function_names_the_canarys_customer() -> None:
    # The SQL cannot import functions/synthetic.py: the literal must be its one value
    sql = (MIGRATIONS_DIR / "0005_synthetic_retention.sql").read_text()
    assert f"o.customer_id = '{synthetic.CUSTOMER_ID}'" in sql


def test_housekeeping_that_fails_never_fails_the_drain(bus: MemoryBus) -> None:
    # Given events to publish, and a database where pruning fails (a migration not applied yet)
    store().reserve("o-1", "f", REQUEST, 900)
    drainer.database().connection().run("DROP FUNCTION prune_outbox(integer, integer)")
    # When the drainer runs
    report = drainer.handler({}, lambda_context())
    # Then the events are published and the run passes, saying pruning did not happen
    assert bus.taken == ["OrderPlaced"]
    assert report["pending"] == 0 and report["pruned"] is None
