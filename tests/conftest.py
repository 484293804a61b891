"""Fixtures shared by every suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.postgres import throwaway_cluster

# Fixture modules, found by name in every suite (no test imports a fixture).
pytest_plugins = (
    "tests.support.simulation",
    "tests.integration.orders_harness",
    "tests.integration.saga_harness",
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """DSN of the PostgreSQL server for this test run: TEST_DATABASE_URL, else a throwaway one."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    with throwaway_cluster() as dsn:
        yield dsn


@pytest.fixture
def postgres_dsn(postgres_server: str) -> Iterator[str]:
    """DSN of a fresh, empty database of its own for one test, dropped afterwards."""
    import pg8000.native

    parts = urlsplit(postgres_server)
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = pg8000.native.Connection(
        user=parts.username or "postgres",
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        database=parts.path.lstrip("/") or "postgres",
        password=parts.password,
    )
    try:
        admin.run(f"CREATE DATABASE {name}")
        yield urlunsplit(parts._replace(path=f"/{name}"))
        admin.run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.close()
