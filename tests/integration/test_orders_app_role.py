"""The app's database role against a real PostgreSQL server: what the migrations let it do.

The throwaway server trusts every local login (``initdb -A trust``), so connecting as the app
role needs no password here; on Aurora the same role logs in only with an IAM auth token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

import pg8000.exceptions
import pg8000.native
import pytest

from functions import synthetic
from functions.orders.db import Database, DatabaseSettings
from functions.orders.domain import OrderStatus
from functions.orders.migrations import Migration, load_migrations, migrate
from functions.orders.outbox import OutboxEvent
from functions.orders.settings import APP_USERNAME
from functions.orders.store import (
    Applied,
    Failing,
    PostgresOrderStore,
    PostgresOutbox,
    load_snapshot,
)

INSUFFICIENT_PRIVILEGE = "42501"
REQUEST = {
    "customerId": "c-1",
    "currency": "EUR",
    "items": [
        {"sku": "A", "quantity": 2, "unitPrice": 350},
        {"sku": "B", "quantity": 1, "unitPrice": 300},
    ],
    "payment": {"token": "t"},
}


def database(dsn: str, user: str | None = None) -> Database:
    """The database of ``dsn``, logged in as ``user`` (default: the DSN's, the admin)."""
    if user is not None:
        parts = urlsplit(dsn)
        dsn = urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rpartition('@')[2]}"))
    return Database(DatabaseSettings.from_env({"DATABASE_URL": dsn}))


def sqlstate(error: pg8000.exceptions.DatabaseError) -> str:
    return str(error.args[0]["C"])


@pytest.fixture
def migrated(postgres_dsn: str) -> str:
    """A database with every migration applied by the admin, as the deploy does."""
    migrate(database(postgres_dsn))
    return postgres_dsn


@pytest.fixture
def app(migrated: str) -> Iterator[Database]:
    """The migrated database, logged in as the app role."""
    db = database(migrated, APP_USERNAME)
    yield db
    db.close()


def test_the_migration_creates_and_grants_to_the_role_the_infra_connects_as() -> None:
    # Given the SQL of every migration (a migration cannot import the Python constant)
    sql = "\n".join(m.sql for m in load_migrations())

    # When the roles it creates and grants to are read out of it
    created = set(re.findall(r"CREATE ROLE (\w+)", sql))
    grantees = set(re.findall(r"\bTO (\w+)", sql))
    looked_up = set(re.findall(r"rolname = '(\w+)'", sql))

    # Then they are the one role the infra gives rds-db:connect to (and Aurora's rds_iam)
    assert created == grantees == {APP_USERNAME}
    assert looked_up == {APP_USERNAME, "rds_iam"}


@pytest.mark.postgres
def test_after_migrating_the_app_role_exists_and_logs_in(app: Database) -> None:
    # Given a migrated database
    # When the app role connects
    [[user, superuser, creates_roles]] = app.connection().run(
        "SELECT current_user, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user"
    )

    # Then it is logged in as itself, with no administrative power
    assert user == APP_USERNAME
    assert (superuser, creates_roles) == (False, False)


@pytest.mark.postgres
def test_the_app_role_runs_a_whole_checkout_through_the_store(app: Database) -> None:
    # Given the store, logged in as the app role
    store = PostgresOrderStore(app)

    # When an order goes through every step of a successful checkout
    assert store.reserve("o-ok", "f", REQUEST, 1000)
    assert store.authorization_sent("o-ok")
    store.advance(
        "o-ok",
        "AuthorizePayment",
        OrderStatus.AUTHORIZED,
        "AUTHORIZED",
        "PaymentAuthorized",
        authorization_id="a",
    )
    store.advance(
        "o-ok",
        "CapturePayment",
        OrderStatus.CAPTURED,
        "CAPTURED",
        "PaymentCaptured",
        capture_id="c",
    )
    assert store.intend("o-ok", "TellCrm")
    store.note("o-ok", "UpdateCustomer", "crm told")
    assert store.confirm("o-ok") is Applied.APPLIED

    # Then every read the saga and the projector make works too
    assert store.order("o-ok") == {
        "customer_id": "c-1",
        "total": 1000,
        "currency": "EUR",
        "status": "CONFIRMED",
        "version": 4,
        "fingerprint": "f",
    }
    assert (store.payment("o-ok") or {})["status"] == "CAPTURED"
    snapshot = load_snapshot(app, "o-ok")
    assert snapshot is not None and len(snapshot.items) == 2
    # And the app role drains its events from the outbox, each once
    published: list[str] = []

    def publish(events: Sequence[OutboxEvent]) -> list[str | None]:
        published.extend(e.detail_type for e in events)
        return [None] * len(events)

    outbox = PostgresOutbox(app)
    assert outbox.writes()
    outbox.drain_batch(publish)
    assert published == ["OrderPlaced", "PaymentAuthorized", "PaymentCaptured", "OrderConfirmed"]
    assert outbox.pending()[0] == 0 and outbox.drain_batch(publish).claimed == 0
    # And it may prune published events past their retention, through the one function that
    # can, which keeps a day of them whatever it is asked
    assert outbox.prune(0) == 0
    app.connection().run("UPDATE outbox SET published_at = now() - interval '2 days'")
    assert outbox.prune(86_400) == 4


@pytest.mark.postgres
def test_the_app_role_prunes_the_canarys_old_orders_and_no_other(
    app: Database, migrated: str
) -> None:
    # Given, as the app role, a canary order and a customer's, both ended and published
    store, outbox = PostgresOrderStore(app), PostgresOutbox(app)
    store.reserve("o-canary", "f", {**REQUEST, "customerId": synthetic.CUSTOMER_ID}, 1000)
    store.reserve("o-customer", "f", REQUEST, 1000)
    outbox.drain_batch(lambda events: [None] * len(events))
    admin = database(migrated).connection()
    admin.run(
        "UPDATE orders SET status = 'FAILED', failure_cause = 'x', "
        "created_at = now() - interval '8 days'"
    )
    # When the app role asks for the canary's orders older than a week to go
    deleted = store.prune_synthetic(synthetic.RETENTION_SECONDS)
    # Then the canary's order went, and the customer's stayed
    assert deleted == 1
    assert store.order("o-canary") is None
    assert store.order("o-customer") is not None


@pytest.mark.postgres
def test_the_app_role_runs_every_compensation_through_the_store(app: Database) -> None:
    # Given an order captured, as the app role
    store = PostgresOrderStore(app)
    store.reserve("o-undo", "f", REQUEST, 1000)
    store.advance(
        "o-undo",
        "AuthorizePayment",
        OrderStatus.AUTHORIZED,
        "AUTHORIZED",
        "PaymentAuthorized",
        authorization_id="a",
    )
    store.advance(
        "o-undo",
        "CapturePayment",
        OrderStatus.CAPTURED,
        "CAPTURED",
        "PaymentCaptured",
        capture_id="c",
    )

    # When the saga compensates every step
    assert store.fail("o-undo", "CRM refused") is Failing.FAILED
    assert store.failed_holding_money(0) == ["o-undo"]
    assert not store.revert_customer("o-undo")
    assert store.settle("o-undo", {"CAPTURED"}, "REFUNDED", "PaymentRefunded", refund_id="r")
    store.note("o-undo", "VoidAuthorization", "nothing")
    assert store.fail("o-undo", "again") is Failing.ALREADY_FAILED

    # Then the order ends failed with its first cause, and refunded
    assert (store.order("o-undo") or {})["status"] == "FAILED"
    assert (store.payment("o-undo") or {})["status"] == "REFUNDED"
    assert store.failed_holding_money(0) == []


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE intruder (x int)",
        "DROP TABLE orders",
        "ALTER TABLE orders ADD COLUMN intruder int",
        "TRUNCATE saga_steps",
        "DELETE FROM orders",
        # Published events are marked, and pruned past their retention only through
        # prune_outbox (migration 0004), never deleted by the app.
        "DELETE FROM outbox",
        "DELETE FROM outbox WHERE published_at IS NULL",
        # The audit trail and an order's lines are append-only for the app.
        "UPDATE saga_steps SET outcome = 'rewritten'",
        "UPDATE order_items SET quantity = 1",
        # The migrator's bookkeeping is none of the app's business.
        "SELECT version FROM schema_migrations",
        "CREATE ROLE intruder",
    ],
)
def test_the_app_role_is_refused_what_the_app_never_does(app: Database, statement: str) -> None:
    # Given a migrated database, and the app role connected to it
    connection = app.connection()

    # When the app role tries what no function of the app does
    with pytest.raises(pg8000.exceptions.DatabaseError) as refused:
        connection.run(statement)

    # Then PostgreSQL refuses it for want of privilege
    assert sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE


@pytest.mark.postgres
def test_a_table_a_later_migration_creates_is_usable_by_the_app_role(postgres_dsn: str) -> None:
    # Given the migrations, then a later one adding a table with a sequence
    later = Migration("9999_later", "CREATE TABLE later (id bigserial PRIMARY KEY, note text)")
    migrate(database(postgres_dsn), [*load_migrations(), later])

    # When the app role writes and reads it
    app = database(postgres_dsn, APP_USERNAME).connection()
    app.run("INSERT INTO later (note) VALUES ('hello')")
    app.run("UPDATE later SET note = 'bye'")

    # Then the default privileges let it, and still refuse a delete
    assert app.run("SELECT note FROM later") == [["bye"]]
    with pytest.raises(pg8000.exceptions.DatabaseError) as refused:
        app.run("DELETE FROM later")
    assert sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE


@pytest.mark.postgres
def test_migrating_where_the_role_already_exists_applies_every_migration(
    postgres_dsn: str,
) -> None:
    # Given a server where the app role already exists: roles belong to the server, and an
    # Aurora global database replicates them to every region
    admin = database(postgres_dsn)
    admin.connection().run(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orders_app') "
        "THEN CREATE ROLE orders_app LOGIN; END IF; END $$"
    )

    # When this database is migrated
    applied = migrate(admin)

    # Then every migration applied, and the role got its rights on this database's tables
    assert applied == [m.version for m in load_migrations()]
    [[may_insert]] = admin.connection().run(
        "SELECT has_table_privilege(:r, 'orders', 'INSERT')", r=APP_USERNAME
    )
    assert may_insert is True


@pytest.mark.postgres
def test_where_rds_iam_exists_the_app_role_is_a_member_of_it(postgres_dsn: str) -> None:
    # Given a server with Aurora's rds_iam role, made here when the server lacks it
    admin = database(postgres_dsn).connection()
    made = not admin.run("SELECT FROM pg_roles WHERE rolname = 'rds_iam'")
    if made:
        admin.run("CREATE ROLE rds_iam NOLOGIN")
    try:
        # When the database is migrated
        migrate(database(postgres_dsn))

        # Then the app role may log in only with an IAM auth token, as a member of rds_iam
        [[member]] = admin.run("SELECT pg_has_role(:r, 'rds_iam', 'MEMBER')", r=APP_USERNAME)
        assert member is True
    finally:
        if made:
            # Roles outlive the test's database: leave the server as it was found.
            admin.run("DROP ROLE rds_iam")
        admin.close()


@pytest.mark.postgres
def test_migrating_twice_changes_nothing_for_the_app_role(migrated: str) -> None:
    # Given a migrated database, and the app role's rights on it
    admin = database(migrated)
    rights = "SELECT table_name, privilege_type FROM information_schema.role_table_grants WHERE grantee = :r ORDER BY 1, 2"
    before = admin.connection().run(rights, r=APP_USERNAME)

    # When the migrator runs again
    applied = migrate(admin)

    # Then nothing applied and the rights are the same
    assert applied == []
    assert admin.connection().run(rights, r=APP_USERNAME) == before
