"""The migrator against a real PostgreSQL server."""

from __future__ import annotations

import threading

import pytest

from functions.migrator import handler as migrator
from functions.orders.db import Database, DatabaseSettings
from functions.orders.migrations import load_migrations, migrate
from tests.support.lambda_context import lambda_context

pytestmark = pytest.mark.postgres


def database(dsn: str) -> Database:
    return Database(DatabaseSettings.from_env({"DATABASE_URL": dsn}))


def tables(dsn: str) -> set[str]:
    rows = (
        database(dsn)
        .connection()
        .run("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    )
    return {row[0] for row in rows}


def test_migrations_create_the_write_model_in_an_empty_database(postgres_dsn: str) -> None:
    # Given an empty database
    # When the migrator runs
    applied = migrate(database(postgres_dsn))
    # Then every migration is recorded and the saga's tables exist
    assert applied == [m.version for m in load_migrations()]
    assert {
        "customers",
        "orders",
        "order_items",
        "payments",
        "saga_steps",
        "schema_migrations",
    } <= tables(postgres_dsn)


def test_a_second_run_applies_nothing(postgres_dsn: str) -> None:
    # Given a migrated database
    migrate(database(postgres_dsn))
    # When the migrator runs again
    # Then it does nothing
    assert migrate(database(postgres_dsn)) == []


def test_two_concurrent_runs_do_not_both_apply(postgres_dsn: str) -> None:
    # Given two migrators starting together on an empty database
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        db = database(postgres_dsn)
        db.connection()
        barrier.wait()
        try:
            results.append(migrate(db))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then neither failed, and exactly one of them applied the migrations
    assert errors == []
    assert sorted(len(r) for r in results) == [0, len(load_migrations())]


def test_the_handler_reports_what_it_applied(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the migrator Lambda configured with a DSN
    monkeypatch.setenv("DATABASE_URL", postgres_dsn)
    migrator._database.cache_clear()
    # When invoked twice
    first = migrator.handler({}, lambda_context())
    second = migrator.handler({}, lambda_context())
    migrator._database.cache_clear()
    # Then the first applied everything and the second nothing
    assert first["applied"] and second == {"applied": []}
